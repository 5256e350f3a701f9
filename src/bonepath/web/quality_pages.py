"""The quality dashboard (quality managers and administrators).

- ``GET /quality``: the indicators QC-01..QC-11 of the caller's hospitals over a period, with
  the whitepaper baselines and SVG charts by hospital, city tier and month (small strata
  drawn pale and marked, never hidden).
- ``GET /quality/report.html`` / ``/quality/report.pdf``: the printable report (with the outcome
  analyses) for the same scope and period.
- ``GET /api/quality``: the JSON of interfaces.md; ``GET /api/quality/fhir``: a FHIR R4 Bundle of
  MeasureReports.

One evaluation of the registry per period is cached (:mod:`bonepath.population.quality_cache`)
and every scope is cut from it; the printable report is built once per evaluation, scope and
language. A period not evaluated yet, on a registry of more than
``Settings.quality_background_patients`` patients, is evaluated in the background: the
dashboard and the printable report answer at once (202) with a page that says so in the
page's language and refreshes itself (``Refresh`` header, and a link) until the result is
there. The JSON and FHIR exports wait for it.
Tenancy: a manager granted some hospitals sees only their patients — the registry is
restricted to those hospitals *before* anything is counted; asking for another hospital is a
404 like any object outside the caller's hospitals. Every view is audited (``quality.read``).
"""

from __future__ import annotations

import datetime as dt
import html as html_text
from typing import Annotated, Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from bonepath.api import deps
from bonepath.api.deps import Context
from bonepath.errors import ConfigError, InputError, NotFound
from bonepath.population.quality_cache import (
    QualityEvaluation,
    generation,
    printable,
    readers,
)
from bonepath.quality.measures import STRATUM_NAMES, Text, value_label
from bonepath.quality.results import QualityReport
from bonepath.quality.svg import Bar, rate_bars
from bonepath.store.accounts import Permission, Principal
from bonepath.web.pages import render, request_lang

router = APIRouter(include_in_schema=True, tags=["quality"])

QualityUser = Annotated[Principal, Depends(deps.require(Permission.QUALITY))]

REPORT_CSP: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)
"""The printable report is one self-contained page with an inline stylesheet and nothing else."""

TEXT: Final[dict[str, Text]] = {
    "title": Text("质量指标", "Quality indicators"),
    "intro": Text(
        "由登记库实时计算，与《中国肺癌骨转移诊疗现状白皮书》基线比较。分母少于20的分层以浅色标出。",
        "Computed from the registry and compared with the baselines of the whitepaper on bone "
        "metastases of lung cancer in China. Strata with fewer than 20 in the denominator are "
        "drawn pale.",
    ),
    "from": Text("起", "From"),
    "to": Text("止", "To"),
    "hospital": Text("医院", "Hospital"),
    "all": Text("全部（我的医院）", "All (my hospitals)"),
    "show": Text("显示", "Show"),
    "scope": Text("范围", "Scope"),
    "every": Text("全部医院", "every hospital"),
    "id": Text("编号", "ID"),
    "name": Text("指标", "Indicator"),
    "num": Text("分子", "Numerator"),
    "den": Text("分母", "Denominator"),
    "rate": Text("率", "Rate"),
    "baseline": Text("白皮书基线", "Whitepaper baseline"),
    "report_html": Text("打印版报告（HTML）", "Printable report (HTML)"),
    "report_pdf": Text("PDF报告", "PDF report"),
    "json": Text("JSON", "JSON"),
    "fhir": Text("FHIR MeasureReport", "FHIR MeasureReport"),
    "charts": Text("分层图", "Charts by stratum"),
    "trend": Text("月度趋势", "Monthly trend"),
    "reversed": Text(
        "起始日期晚于截止日期：请交换两个日期。",
        "The period starts after it ends: swap the two dates.",
    ),
    "bad_date": Text("日期的写法如 2026-11-02。", "A date is written as 2026-11-02."),
    "unknown_hospital": Text(
        "未知医院：{hospital}。请从列表中选择医院。",
        "Unknown hospital: {hospital}. Choose a hospital from the list.",
    ),
    "empty": Text(
        "该时段内没有符合条件的患者（分母均为0）。",
        "No patient in this period (every denominator is 0).",
    ),
    "computing": Text(
        "正在计算 {start} 至 {end} 的质量指标（首次查看该时段需要遍历整个登记库，"
        "大型登记库约需一至数分钟）。本页每 {seconds} 秒自动刷新，算好后即显示结果。",
        "The quality indicators of {start} to {end} are being computed (the first look at a "
        "period goes through the whole registry: a minute or more for a large registry). This "
        "page refreshes itself every {seconds} seconds and shows the result when it is ready.",
    ),
    "refresh": Text("立即刷新", "Refresh now"),
    "no_pdf": Text(
        "本服务器未安装 Chromium，无法生成PDF。请打开打印版报告（HTML），用浏览器的“打印 → 另存为PDF”保存。",
        "This server has no Chromium to print the PDF. Open the printable report (HTML) and use "
        "the browser's Print → Save as PDF.",
    ),
}

CHART_STRATA: Final = ("hospital", "city_tier", "hospital_type", "department", "physician_title")
"""Every stratum of the printable report, on screen."""


def _period(context: Any, start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    day_to = end or context.today()
    day_from = start or dt.date(day_to.year, 1, 1)
    if day_from > day_to:
        raise InputError(f"the period starts ({day_from}) after it ends ({day_to})")
    return day_from, day_to


def scope(principal: Principal, hospital: str | None) -> tuple[str, ...]:
    """The hospitals to count: the one asked for (404 outside the grant), else every granted
    one (empty = the whole registry, for a principal granted every hospital)."""
    if hospital:
        if not principal.sees(hospital):
            raise NotFound(f"no hospital {hospital!r} among yours")
        return (hospital,)
    return principal.hospital_filter() or ()


REFRESH_S: Final = 5
"""How often the "being computed" page reloads itself."""


def _evaluation(context: Any, start: dt.date, end: dt.date) -> QualityEvaluation:
    """The period's evaluation of the whole registry (:mod:`bonepath.population.quality_cache`):
    computed once, then every scope and hospital is a cut of it."""
    from bonepath.population.quality_cache import CACHE

    evaluation = CACHE.get(context.store, start, end)
    assert evaluation is not None  # waited for
    return evaluation


def _ready(context: Any, start: dt.date, end: dt.date) -> QualityEvaluation | None:
    """The period's evaluation for a page: None when it is being computed in the background
    (a period not evaluated yet, on a registry larger than ``quality_background_patients``)."""
    from bonepath.population.quality_cache import CACHE

    store = context.store
    if CACHE.peek(store, start, end) is None and not CACHE.computing(store, start, end):
        limit = context.settings.quality_background_patients
        if generation(store)[0] <= limit:
            return _evaluation(context, start, end)  # small: the page waits (seconds)
    return CACHE.get(store, start, end, wait=False)


def _computing_headers(url: str) -> dict[str, str]:
    return {"Refresh": f"{REFRESH_S}; url={url}", "Cache-Control": "no-store"}


def _computing_document(lang: str, start: dt.date, end: dt.date, url: str) -> str:
    """The printable report's stand-in while its period is computed (self-contained: the
    report's CSP allows nothing but inline style)."""
    message = TEXT["computing"](lang).format(start=start, end=end, seconds=REFRESH_S)
    title = TEXT["title"](lang)
    return (
        f'<!doctype html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
        f'<meta charset="utf-8"><meta http-equiv="refresh" content="{REFRESH_S}">'
        f"<title>{html_text.escape(title)}</title></head><body>"
        f'<p role="status" id="quality-computing">{html_text.escape(message)}</p>'
        f'<p><a href="{html_text.escape(url)}">{html_text.escape(TEXT["refresh"](lang))}</a></p>'
        "</body></html>"
    )


def _report(
    context: Any, hospitals: tuple[str, ...], start: dt.date, end: dt.date
) -> QualityReport:
    return _evaluation(context, start, end).report(hospitals)


def _with_mdt(context: Any, report: QualityReport) -> QualityReport:
    """The report with QC-13..15 (the JSON, the printable report, the FHIR export)."""
    from bonepath.population.mdt_quality import with_mdt
    from bonepath.population.qc11_readers import with_readers

    return with_readers(with_mdt(report, context.store.engine), context.store.engine)


def _charts(report: QualityReport, lang: str, names: dict[str, str]) -> list[dict[str, Any]]:
    """Bars per stratum of every measure (hospitals by name), and the monthly trend."""
    out = []
    for m in report.measures:
        charts = []
        for by in CHART_STRATA:
            strata = m.by(by)
            if len(strata) < 2 and by != "hospital":
                continue
            bars = [
                Bar(
                    names.get(s.value or "", s.value or "—")
                    if by == "hospital"
                    else value_label(by, s.value, lang),
                    s.rate,
                    s.denominator,
                    s.small,
                    s.baseline,
                )
                for s in strata
            ]
            if bars:
                charts.append(
                    rate_bars(
                        bars, f"{m.id} · {STRATUM_NAMES[by](lang)}", baseline=m.measure.baseline
                    )
                )
        months = m.by("month")[-12:]
        if months:
            bars = [Bar(s.value or "—", s.rate, s.denominator, s.small) for s in months]
            charts.append(
                rate_bars(bars, f"{m.id} · {TEXT['trend'](lang)}", baseline=m.measure.baseline)
            )
        out.append({"id": m.id, "charts": charts})
    return out


def _day(text: str | None) -> dt.date | None:
    """A day as the date field sends it; None when empty. Raises ``ValueError`` otherwise."""
    return dt.date.fromisoformat(text.strip()) if text and text.strip() else None


@router.get("/quality", response_class=HTMLResponse, include_in_schema=False)
def quality_page(
    request: Request,
    context: Context,
    principal: QualityUser,
    start_text: Annotated[str | None, Query(alias="from", max_length=32)] = None,
    end_text: Annotated[str | None, Query(alias="to", max_length=32)] = None,
    hospital: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    """The dashboard; an unreadable or reversed period and an unknown hospital are said in the
    page's language beside the form (422 / 404), never a bare error page."""
    from bonepath.api.worklist_query import hospital_directory
    from bonepath.population.mdt_quality import mdt_indicators
    from bonepath.store.hospitals import unknown_hospitals

    lang = request_lang(request)
    chosen = (hospital or "").strip()
    _known, names = hospital_directory(context.store)  # cached: no scan of every patient
    granted = principal.hospital_filter()
    page: dict[str, Any] = {
        "t": {key: text(lang) for key, text in TEXT.items()},
        "hospital": chosen,
        "hospitals": [(h, names.get(h, h)) for h in (granted or sorted(names))],
        "pct": lambda v: "—" if v is None else f"{v:.1%}",
        "report": None,
        "charts": [],
        "error": "",
    }
    try:
        start, end = _day(start_text), _day(end_text)
    except ValueError:
        start = end = None
        page["error"] = TEXT["bad_date"](lang)
    day_to = end or context.today()
    day_from = start or dt.date(day_to.year, 1, 1)
    page.update(start=day_from, end=day_to)
    if not page["error"] and day_from > day_to:
        page["error"] = TEXT["reversed"](lang)
    if page["error"]:
        return render(request, "quality.html", page, status=422, principal=principal)
    if chosen and (not principal.sees(chosen) or unknown_hospitals(context.store.engine, [chosen])):
        page["error"] = TEXT["unknown_hospital"](lang).format(hospital=chosen)
        deps.audit(request, principal, "quality.read", hospital=chosen, outcome="refused")
        return render(request, "quality.html", page, status=404, principal=principal)
    query = f"from={day_from.isoformat()}&to={day_to.isoformat()}" + (
        f"&hospital={quote(chosen)}" if chosen else ""
    )
    evaluation = _ready(context, day_from, day_to)
    if evaluation is None:  # a period not evaluated yet: say so, and look again shortly
        page.update(
            query=query,
            computing=TEXT["computing"](lang).format(start=day_from, end=day_to, seconds=REFRESH_S),
        )
        deps.audit(request, principal, "quality.read", hospital=chosen or None, outcome="computing")
        response = render(request, "quality.html", page, status=202, principal=principal)
        response.headers.update(_computing_headers(f"/quality?{query}"))
        return response
    report = evaluation.report(scope(principal, chosen or None))
    deps.audit(request, principal, "quality.read", hospital=chosen or None)
    page.update(
        report=report,
        charts=_charts(report, lang, names),
        scope_text=(
            "、".join(names.get(h, h) for h in report.hospitals)
            if report.hospitals
            else TEXT["every"](lang)
        ),
        query=query,
        empty=TEXT["empty"](lang) if all(m.denominator == 0 for m in report.measures) else "",
        mdt=mdt_indicators(context.store.engine, day_from, day_to, report.hospitals),  # QC-13..15
        qc11_readers=readers(context.store, evaluation, report.hospitals),  # kept with it
    )
    return render(request, "quality.html", page, principal=principal)


def _printable(
    context: Any,
    principal: Principal,
    hospital: str | None,
    start: dt.date | None,
    end: dt.date | None,
    lang: str,
    url: str,
) -> tuple[str, bool]:
    """The printable report's HTML (built once per evaluation, scope and language), and
    whether it is that report (False: the page saying its period is being computed)."""
    day_from, day_to = _period(context, start, end)
    hospitals = scope(principal, hospital)
    evaluation = _ready(context, day_from, day_to)
    if evaluation is None:
        return _computing_document(lang, day_from, day_to, url), False
    return printable(context.store, evaluation, hospitals, lang), True


@router.get("/quality/report.html", response_class=HTMLResponse, include_in_schema=False)
def quality_report_html(
    request: Request,
    context: Context,
    principal: QualityUser,
    start: Annotated[dt.date | None, Query(alias="from")] = None,
    end: Annotated[dt.date | None, Query(alias="to")] = None,
    hospital: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    url = str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
    lang = request_lang(request)
    html, done = _printable(context, principal, hospital or None, start, end, lang, url)
    headers = {"Content-Security-Policy": REPORT_CSP}
    if not done:
        deps.audit(request, principal, "quality.report", hospital=hospital, outcome="computing")
        return HTMLResponse(html, status_code=202, headers=headers | _computing_headers(url))
    deps.audit(request, principal, "quality.report", hospital=hospital)
    return HTMLResponse(html, headers=headers)


@router.get("/quality/report.pdf", include_in_schema=False)
def quality_report_pdf(
    request: Request,
    context: Context,
    principal: QualityUser,
    start: Annotated[dt.date | None, Query(alias="from")] = None,
    end: Annotated[dt.date | None, Query(alias="to")] = None,
    hospital: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    import tempfile
    from pathlib import Path

    from bonepath.quality.report import html_to_pdf

    lang = request_lang(request)
    url = str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
    html, done = _printable(context, principal, hospital or None, start, end, lang, url)
    if not done:  # the period is being computed: the same page as the HTML report's
        deps.audit(request, principal, "quality.report", hospital=hospital, outcome="computing")
        headers = {"Content-Security-Policy": REPORT_CSP} | _computing_headers(url)
        return HTMLResponse(html, status_code=202, headers=headers)
    try:
        with tempfile.TemporaryDirectory(prefix="bonepath-quality-") as tmp:
            target = Path(tmp) / "report.pdf"
            html_to_pdf(html, target)
            data = target.read_bytes()
    except ConfigError:  # no Chromium on this server, or it failed: say so, with the way out
        deps.audit(request, principal, "quality.report", hospital=hospital, outcome="failed")
        return render(
            request,
            "error.html",
            {"status": 503, "message": TEXT["no_pdf"](lang)},
            status=503,
            principal=principal,
        )
    deps.audit(request, principal, "quality.report", hospital=hospital)
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="bonepath-quality.pdf"'},
    )


@router.get("/api/quality")
def quality_json(
    request: Request,
    context: Context,
    principal: QualityUser,
    start: Annotated[dt.date | None, Query(alias="from")] = None,
    end: Annotated[dt.date | None, Query(alias="to")] = None,
    hospital: Annotated[str | None, Query(max_length=64)] = None,
) -> JSONResponse:
    """The quality indicators (JSON of interfaces.md) of the caller's hospitals."""
    day_from, day_to = _period(context, start, end)
    report = _report(context, scope(principal, hospital or None), day_from, day_to)
    deps.audit(request, principal, "quality.read", hospital=hospital)
    return JSONResponse(_with_mdt(context, report).to_json())


@router.get("/api/quality/fhir")
def quality_fhir(
    request: Request,
    context: Context,
    principal: QualityUser,
    start: Annotated[dt.date | None, Query(alias="from")] = None,
    end: Annotated[dt.date | None, Query(alias="to")] = None,
    hospital: Annotated[str | None, Query(max_length=64)] = None,
) -> JSONResponse:
    """A FHIR R4 Bundle with one MeasureReport per indicator."""
    from bonepath.interop.measure_report import measure_bundle

    day_from, day_to = _period(context, start, end)
    report = _report(context, scope(principal, hospital or None), day_from, day_to)
    deps.audit(request, principal, "quality.read", hospital=hospital)
    bundle = measure_bundle(
        _with_mdt(context, report), generated=dt.datetime.now(dt.UTC).replace(microsecond=0)
    )
    return JSONResponse(bundle, media_type="application/fhir+json")
