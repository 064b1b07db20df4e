"""Drafts an officer edits and sends: the PPC report (速報/確報) and the notice to affected persons.

Why drafts and not finished documents (kansa drafts; a person decides): the facts (cause, measures) come from people, so every
field the incident file leaves empty is printed as a visible "to fill in" mark instead of being
guessed. Field order follows APPI Enforcement Rules Art. 8(1) items 1–9 (report) and Art. 10
(notice). HTML comes from jinja2 templates; PDF from WeasyPrint with the Noto CJK fonts.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from kansa.model.errors import KansaError
from kansa.respond.deadlines import deadlines
from kansa.respond.engine import assess_incident
from kansa.respond.incident import Incident, to_wareki
from kansa.respond.labels import CATEGORY_JA, LABELS, LANGS


def local_date(value: Any, lang: str) -> str:
    """An ISO date or date-time as a reader expects it: 令和8年11月2日（月） 10:00 in Japanese."""
    if value is None or value == "":
        return ""
    text = str(value)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return text
    clock = "" if when.time() == time.min else when.strftime(" %H:%M")
    if lang == "ja":
        return f"{to_wareki(when.date())}{clock}"
    return f"{when.date().isoformat()}{clock}"


def item_label(value: Any, lang: str) -> str:
    """A registry category word as the Japanese draft writes it; anything else unchanged."""
    text = str(value)
    return CATEGORY_JA.get(text, text) if lang == "ja" else text


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("kansa.respond", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        keep_trailing_newline=True,
    )
    env.filters["localdate"] = local_date
    env.filters["itemlabel"] = item_label
    return env


def _entrustors(incident: Incident, duties: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each entrustor with the records trace matched to its data and its own likely duty."""
    per: dict[str, dict[str, Any]] = {}
    for o in incident.owners:
        e = per.setdefault(str(o.get("owner", "")), {"records": 0, "datasets": []})
        e["records"] += int(o.get("records") or 0)
        e["datasets"].append(str(o.get("owner_name") or o.get("owner", "")) + " / " + str(o.get("dataset", "")))
    duty = {d["name"]: d for d in duties}
    out = []
    for detail in incident.entrustor_details:
        name = detail["name"]
        key = detail.get("org_id") or name
        records = detail["persons"] if detail["persons"] is not None else per.get(key, {}).get("records")
        out.append({"name": name, "records": records, "datasets": per.get(key, {}).get("datasets", []),
                    "duty": duty.get(name)})
    return out


def _events(incident: Incident, countdown: list[dict[str, Any]], history: list[dict[str, Any]],
            L: dict[str, str], lang: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    if incident.occurred_at:
        events.append({"when": incident.occurred_at.isoformat(), "text": L["ev_occurred"], "state": None})
    for f in incident.findings:
        if f["day"]:
            events.append({"when": f["day"], "text": f"{L['ev_finding']}: {f['reason_' + lang] or f['rule']} "
                           f"({f['finding_id']})", "state": None})
    events.append({"when": incident.discovered_at.isoformat(), "text": L["ev_learned"], "state": None})
    for d in countdown:
        if d["due"]:
            events.append({"when": d["due"], "text": f"{L['ev_due']}: {d['title_' + lang]}", "state": d["state"]})
        if d["done_on"]:
            events.append({"when": d["done_on"], "text": f"{L['ev_done']}: {d['title_' + lang]}", "state": "done"})
    for h in history:
        events.append({"when": str(h["changed_at"])[:19], "state": None,
                       "text": f"{L['ev_change']} v{h['version']} ({h['actor']}: {h['action']})"})
    return sorted(events, key=lambda e: str(e["when"]))


def render_drafts(
    incident: Incident, today: date, lang: str = "ja", *, done: dict[str, date] | None = None,
    history: list[dict[str, Any]] | None = None,
) -> dict[str, str]:
    """Return {file name: HTML}: PPC report (preliminary, final), notices, and the timeline page.

    ``done`` (obligation id → day met) and ``history`` (the register's change rows) come from
    the workspace register when the incident is stored there.
    """
    if lang not in LANGS:
        raise KansaError(f"--lang must be one of {', '.join(LANGS)}, got {lang!r}")
    L = LABELS[lang]
    result = assess_incident(incident, today)
    obligations = result["obligations"]
    ids = {o["id"]: o for o in obligations}
    notify = any((i.endswith("notify_persons") or i == "gdpr.art34_subjects") and o["status"] == "required"
                 for i, o in ids.items())
    countdown = deadlines(incident, today, done=done)
    env = _env()
    common: dict[str, Any] = {
        "lang": lang, "L": L, "inc": incident.to_dict(), "today": today.isoformat(), "todo": L["todo"],
        "obligations": obligations, "notify_status": L["notify_planned"] if notify else L["notify_none"],
        "countdown": countdown, "questions": result["questions"], "assumptions": result["assumptions"],
    }
    out: dict[str, str] = {}
    for stage in ("preliminary", "final"):
        due_ob = next((o for i, o in ids.items() if i.endswith(f"{stage}_report")), None)
        due = due_ob["due"] if due_ob else None
        out[f"ppc-report-{stage}.{lang}.html"] = env.get_template("ppc_report.html.j2").render(
            **common, stage_label=L[stage], due=due, doc_title=f"{L['report_title']} ({L[stage]})")
    out[f"notice-to-persons.{lang}.html"] = env.get_template("notice.html.j2").render(
        **common, doc_title=L["notice_title"])
    to_entrustor = next((o for o in obligations if o["kind"] == "notify_entrustor"), None)
    if to_entrustor is not None or incident.role == "entrustee":
        entrustors = _entrustors(incident, result["entrustor_duties"]) or [
            {"name": L["todo"], "records": None, "datasets": [], "duty": None}]
        out[f"notice-to-entrustor.{lang}.html"] = env.get_template("notice_entrustor.html.j2").render(
            **common, entrustors=entrustors, due=to_entrustor["due"] if to_entrustor else None,
            doc_title=L["entrustor_title"])
    art33 = ids.get("gdpr.art33_authority")
    if art33 is not None:
        out[f"gdpr-art33-notification.{lang}.html"] = env.get_template("gdpr_art33.html.j2").render(
            **common, due=art33["due"], late=art33["deadline"]["overdue"], doc_title=L["gdpr_title"])
    out[f"timeline.{lang}.html"] = env.get_template("timeline.html.j2").render(
        **common, events=_events(incident, countdown, history or [], L, lang), doc_title=L["timeline_title"])
    return out


def write_drafts(
    incident: Incident, out_dir: Path, today: date, *, lang: str = "ja", pdf: bool = False,
    done: dict[str, date] | None = None, history: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Write the drafts as HTML (and PDF with ``pdf``) into ``out_dir``; return the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    rendered = render_drafts(incident, today, lang, done=done, history=history)
    for name, html in rendered.items():
        path = out_dir / name
        path.write_text(html, encoding="utf-8")
        written.append(path)
    if pdf:
        written.extend(_write_pdfs(rendered, out_dir))
    return {"out": str(out_dir), "files": [str(p) for p in written]}


def _write_pdfs(rendered: dict[str, str], out_dir: Path) -> list[Path]:
    """Lay out every draft, embed the CJK font once in a combined PDF, then split it per draft.

    Subsetting the Noto CJK collection dominates PDF time, so it is done once, not per draft.
    """
    from io import BytesIO

    from pypdf import PdfReader, PdfWriter
    from weasyprint import HTML  # imported lazily: slow to load, only needed for PDF

    docs = [HTML(string=html, base_url=str(out_dir)).render() for html in rendered.values()]
    pages = [page for doc in docs for page in doc.pages]
    combined = docs[0].copy(pages).write_pdf()
    reader = PdfReader(BytesIO(combined))
    written: list[Path] = []
    start = 0
    for name, doc in zip(rendered, docs, strict=True):
        writer = PdfWriter()
        for i in range(start, start + len(doc.pages)):
            writer.add_page(reader.pages[i])
        start += len(doc.pages)
        pdf_path = out_dir / Path(name).with_suffix(".pdf").name
        with pdf_path.open("wb") as fh:
            writer.write(fh)
        written.append(pdf_path)
    return written
