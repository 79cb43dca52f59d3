"""Messages that are not searches: a greeting, thanks, a thumbs-up, or words too broad to search.

Searched as queries, "cảm ơn" found a clean-room request (through "cảm" of "cảm biến") and
"máy" twenty arbitrary machines. A greeting gets the menu; a broad query gets a choice of
sector, which makes it a search. Phrases compare folded (lower case, no diacritics,
Simplified Chinese), so "xin chao", "Xin chào" and "XIN CHÀO!" are one greeting.
"""

from __future__ import annotations

import re
from enum import Enum

from index.text import STOPWORDS, fold

# Whole messages of these (in any combination) are small talk.
CHAT = frozenset(
    fold(phrase)
    for phrase in [
        "hello",
        "hi",
        "hey",
        "there",
        "hallo",
        "helo",
        "xin",
        "chào",
        "chào",
        "bạn",
        "anh",
        "chị",
        "em",
        "ơi",
        "ạ",
        "nhé",
        "nha",
        "admin",
        "bot",
        "ad",
        "cảm",
        "ơn",
        "cám",
        "ơn",
        "nhiều",
        "rất",
        "thanks",
        "thank",
        "you",
        "so",
        "much",
        "very",
        "good",
        "morning",
        "afternoon",
        "evening",
        "ok",
        "okay",
        "oke",
        "vâng",
        "dạ",
        "được",
        "rồi",
        "tốt",
        "great",
        "nice",
        "cool",
        "bye",
        "goodbye",
        "tạm",
        "biệt",
        "hẹn",
        "gặp",
        "lại",
        "see",
        "later",
        "yes",
        "no",
        "không",
        "có",
        "sure",
        "please",
        "thx",
        "ty",
    ]
) | frozenset(
    fold(phrase)
    for phrase in (
        "你好",
        "您好",
        "你",
        "您",
        "大家好",
        "谢谢",
        "謝謝",
        "多谢",
        "感谢",
        "再见",
        "好的",
        "早安",
        "早上好",
        "晚安",
        "嗨",
        "是",
        "不",
        "对",
        "好",
        "こんにちは",
        "こんばんは",
        "おはよう",
        "ございます",
        "ありがとう",
        "どうも",
        "よろしく",
        "お願いします",
        "はい",
        "いいえ",
        "안녕하세요",
        "안녕",
        "감사합니다",
        "고맙습니다",
        "네",
        "아니요",
        "좋아요",
    )
)
# Words that name no technology: a message of these alone (and function words) is too broad.
BROAD = frozenset(
    fold(phrase)
    for phrase in [
        "technology",
        "technologies",
        "tech",
        "machine",
        "machines",
        "machinery",
        "equipment",
        "device",
        "devices",
        "system",
        "systems",
        "solution",
        "solutions",
        "product",
        "products",
        "service",
        "services",
        "tool",
        "tools",
        "find",
        "need",
        "looking",
        "search",
        "want",
        "buy",
        "sell",
        "some",
        "any",
        "new",
        "i",
        "me",
        "my",
        "we",
        "our",
        "công",
        "nghệ",
        "máy",
        "máy",
        "móc",
        "thiết",
        "bị",
        "hệ",
        "thống",
        "giải",
        "pháp",
        "sản",
        "phẩm",
        "dịch",
        "vụ",
        "kỹ",
        "thuật",
        "công",
        "cụ",
        "tìm",
        "cần",
        "muốn",
        "kiếm",
        "mua",
        "bán",
        "mới",
    ]
) | frozenset(
    fold(phrase)
    for phrase in (
        "技术",
        "技術",
        "科技",
        "机器",
        "機器",
        "机械",
        "機械",
        "设备",
        "設備",
        "系统",
        "系統",
        "方案",
        "产品",
        "產品",
        "服务",
        "服務",
        "我",
        "需要",
        "想",
        "要",
        "找",
        "的",
        "一些",
        "有",
        "什么",
        "吗",
        "请",
        "システム",
        "製品",
        "探す",
        "探しています",
        "必要",
        "を",
        "が",
        "の",
        "です",
        "기술",
        "장비",
        "기계",
        "시스템",
        "제품",
        "솔루션",
        "찾습니다",
        "필요",
        "을",
        "를",
    )
)
_WORD = re.compile(r"[^\W_]")


class Meaning(Enum):
    CHAT = "chat"
    BROAD = "broad"


def _residue(text: str, phrases: frozenset[str]) -> str:
    """What is left of ``text`` (folded) once the ``phrases`` are taken out."""
    rest = re.sub(r"[^\w]+", " ", text)
    for phrase in sorted(phrases, key=len, reverse=True):  # longest first: 你好 before 好
        if phrase.isascii():  # a whole word: "cam" of "cam on", never of "camera"
            rest = re.sub(rf"(?<!\S){re.escape(phrase)}(?!\S)", " ", rest)
        else:
            rest = rest.replace(phrase, " ")
    return rest.strip()


def meaning(text: str) -> Meaning | None:
    """CHAT for small talk (or no words at all, like "👍"), BROAD for a query naming no technology."""
    folded = fold(text)
    if not _WORD.search(folded) or not _residue(folded, CHAT):
        return Meaning.CHAT
    if not _residue(folded, BROAD | STOPWORDS | CHAT):
        return Meaning.BROAD
    return None
