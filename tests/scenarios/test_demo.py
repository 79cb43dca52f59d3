"""``techconnect demo --script``: the steps of DESIGN.md, the transcript format and the exit status."""

from __future__ import annotations

import io

import pytest

from bot.demo import run_demo
from bot.i18n import gettext_for

VI = gettext_for("vi")  # the demo user's language (--lang vi) and the staff language


def blocks(transcript: str) -> list[tuple[str, list[str]]]:
    """The transcript as (header, lines) blocks: a block starts with [user] or [staff] after a blank line."""
    result: list[tuple[str, list[str]]] = []
    previous = ""
    for line in transcript.splitlines():
        if line in ("[user]", "[staff]") and previous == "":
            result.append((line, []))
        elif result:
            result[-1][1].append(line)
        previous = line
    for _header, lines in result:
        while lines and lines[-1] == "":
            lines.pop()
    return result


def text_of(lines: list[str]) -> str:
    return "\n".join(lines)


def row(*labels: str) -> str:
    return " ".join(f"[{label}]" for label in labels)


async def test_script_prints_the_transcript_of_user_and_staff(sample_env, capsys):
    script = [
        "> /start",
        "> nuôi cá mú giống",
        f"* {VI('Details')}",
        "*#2",  # the second button of the details: More like this
        f"* {VI('Request introduction')}",
        "> Trần Văn Minh",
        "> Công ty Thủy sản Cát Hải",
        "> Giám đốc",
        "> minh@cathai.com.vn",
        "> Tìm công nghệ sản xuất giống cá mú",
        f"* {VI('I agree, send to staff').upper()}",  # labels match case-insensitively
        f"staff* {VI('Claim')}",
        "# staff now answer in the topic",
        "staff> hello",
    ]
    out = io.StringIO()
    assert await run_demo(script, "vi", out=out) == 0
    assert capsys.readouterr().err == ""
    transcript = out.getvalue()
    parsed = blocks(transcript)
    assert parsed and all(header in ("[user]", "[staff]") for header, _ in parsed)
    assert transcript.startswith("[user]\n") and transcript.endswith("\n\n")
    assert "<b>" not in transcript and "</" not in transcript and "&lt;" not in transcript  # plain text
    assert "staff now answer" not in transcript

    header, welcome = parsed[0]
    assert header == "[user]"
    assert welcome[0] == VI(
        "Hello {name}! I am TechConnect, the technology supply–demand connection assistant of "
        "Hai Phong's Department of Science and Technology."
    ).format(name="Minh")
    assert welcome[-5:] == [
        row("🔎 " + VI("Find technology")),
        row("🤝 " + VI("Find partners for my technology")),
        row("📝 " + VI("Post a need"), "💡 " + VI("Offer a technology")),
        row("💬 " + VI("Talk to staff")),
        row("🌐 " + VI("Language"), "❓ " + VI("Help")),
    ]

    results = [
        lines
        for header, lines in parsed
        if lines[0].startswith(VI("Results for “{query}”").format(query="nuôi cá mú giống"))
    ]
    assert results and row("ℹ️ " + VI("Details"), "🤝 " + VI("Request introduction")) in results[0]
    details = [
        lines for _, lines in parsed if row("🤝 " + VI("Request introduction"), "🔎 " + VI("More like this")) in lines
    ]
    assert len(details) == 1  # "* Details" opened the entry; "*#2" then asked for similar ones

    prompts = [text_of(lines) for header, lines in parsed if header == "[user]"]
    assert VI("Your full name?") + "\n" + row("✖️ " + VI("Cancel")) in prompts
    assert VI("Your role there?") + "\n" + row("◀️ " + VI("Back"), "✖️ " + VI("Cancel")) in prompts
    confirmation = next(p for p in prompts if p.startswith(VI("Please check your details")))
    assert VI("Phone or e-mail: {value}").format(value="minh@cathai.com.vn") in confirmation
    assert confirmation.endswith(row("✏️ " + VI("Edit details"), "✖️ " + VI("Cancel")))
    assert row("✅ " + VI("I agree, send to staff")) in confirmation.splitlines()
    sent = VI(
        "Your request #{number} has been sent to our staff. A staff member will reply in this chat; "
        "anything you write here reaches them."
    ).format(number=1)
    assert any(p.startswith(sent) and p.endswith(row("🛑 " + VI("End conversation"))) for p in prompts)

    staff = [text_of(lines) for header, lines in parsed if header == "[staff]"]
    cards = [s for s in staff if s.startswith("🎫 " + VI("Ticket #{number}").format(number=1))]
    assert len(cards) >= 2  # the card, then its edit once claimed
    assert cards[0].endswith(row("🙋 " + VI("Claim"), "✅ " + VI("Close")))
    assert VI("Claimed by {name}").format(name="Lan") in cards[-1]

    # the user's last two blocks: they learn who joined, then staff's "hello" arrives as plain text
    to_user = [block for block in parsed if block[0] == "[user]"]
    assert to_user[-1] == ("[user]", ["hello"])
    assert to_user[-2][1][0].startswith(
        VI("{name} from the Department's staff has joined this conversation. I will stay quiet while you talk.").format(
            name="Lan"
        )
    )


@pytest.mark.parametrize(
    "step, reason",
    [
        ("* Nút không có", "demo: no button labelled 'Nút không có'"),
        ("*#9", "demo: no button #9 in the newest message with buttons"),
    ],
)
async def test_a_missing_button_stops_the_script_with_status_2(sample_env, capsys, step, reason):
    out = io.StringIO()
    status = await run_demo(["> /start", step, "> nuôi cá mú giống"], "vi", out=out)
    assert status == 2
    assert capsys.readouterr().err.strip() == reason
    parsed = blocks(out.getvalue())
    assert [header for header, _ in parsed] == ["[user]"]  # the steps after the failing one did not run
    assert VI("Results for “{query}”").split("“")[0] not in out.getvalue()


async def test_staff_step_without_a_ticket_exits_2(sample_env, capsys):
    out = io.StringIO()
    assert await run_demo(["> /start", "staff> x"], "vi", out=out) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("demo: ") and "ticket" in err and "\n" not in err
    assert "[staff]" not in out.getvalue()


async def test_english_labels_work_in_every_language_and_each_run_starts_afresh(sample_env, capsys):
    script = [
        "> hệ thống nuôi tôm tuần hoàn",
        "* Request introduction",
        "> Nguyễn Văn Minh",
        "> Thủy sản Cát Hải",
        "> Giám đốc",
        "> 0912 345 678",
        "> Nuôi tôm trong nhà quanh năm",
        "* I agree",
        "staff* Claim",
    ]
    for _run in range(2):
        out = io.StringIO()
        assert await run_demo(script, "vi", out=out) == 0
        transcript = out.getvalue()
        vi = gettext_for("vi")
        assert vi("Your full name?") in transcript  # a new conversation: the form starts from the top
        assert vi("Claim") in transcript and "Claim" not in transcript  # tapped by its English label


async def test_entries_posted_and_approved_in_a_demo_stay_out_of_the_real_catalogue(sample_env, capsys):
    """Staff approve a need posted in the demo: the demo's own copy has it, the data directory does not."""
    script = [
        "> /start",
        "* Post a need",
        "> Máy sấy vải thiều bằng năng lượng mặt trời",
        "* Skip",
        "> Hợp tác xã trồng vải thiều ở Thanh Hà cần máy sấy dùng năng lượng mặt trời, công suất 2 tấn mỗi mẻ.",
        "* A technology for my business",
        "* Nông nghiệp",
        "* Việt Nam",
        "* Pilot",
        "* Equipment purchase",
        "* Done",
        "* No deadline",
        "> Nguyễn Văn Minh",
        "> HTX Vải thiều Thanh Hà",
        "> Giám đốc",
        "> 0912 345 678",
        "* I agree",
        "staff* Approve",
    ]
    before = await _catalogue_ids()
    out = io.StringIO()
    assert await run_demo(script, "vi", out=out) == 0, capsys.readouterr().err
    transcript = out.getvalue()
    assert VI("Approved by {name}").format(name="Lan") in transcript
    assert "Máy sấy vải thiều bằng năng lượng mặt trời" in transcript
    assert await _catalogue_ids() == before


async def _catalogue_ids() -> set[str]:
    from bot.config import database_url
    from catalog.store import CatalogStore, make_engine

    catalog = CatalogStore(make_engine(database_url()))
    try:
        return set(await catalog.fingerprints())
    finally:
        await catalog.engine.dispose()
