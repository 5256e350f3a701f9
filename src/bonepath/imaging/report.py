"""The CT report checker: what one CT report's text says about bone (interfaces.md).

Rule-based, Chinese first and English too, no model and no network: the text is cut into
sentences and clauses; a sentence that says anything about the bones of the scanned field
(bone window, skeleton, vertebrae, ribs …, a normal statement included) is *evidence* that the
bones were described; each bone abnormality named in a clause becomes a finding with its site
(record-format lesion site code), vertebral level, side, kind and certainty — ``negated`` when
the report denies it (未见, 无, 排除 …; negation reaches the terms *after* the cue in its
clause), ``suspicious`` when it hedges (可能, 考虑, 不除外, 待排, 建议进一步检查 … anywhere in
the clause, or in a hedge-only clause that follows in the same sentence), else ``positive``.

It is an **unvalidated aid**: its measured precision and recall on the labelled corpus
(``tests/imaging/corpus.jsonl``) are in ``bench/README.md``; docs/imaging.md says what it is
and is not. Only the standard library and :mod:`bonepath.vocab` are imported, so that
:mod:`bonepath.record.columns` applies it when a record is flattened (clarifications C-28).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Final, Literal

from bonepath.errors import InputError
from bonepath.vocab import Site

CHECKER_VERSION: Final = "1"
"""Changes when the rules change what the checker returns (stored with derived values)."""

BoneWindow = Literal["described", "not_described"]
Certainty = Literal["positive", "suspicious", "negated"]
FindingKind = Literal["lytic", "blastic", "mixed", "destruction", "fracture", "metastasis", "other"]

FINDING_KINDS: Final[tuple[str, ...]] = (
    "lytic",
    "blastic",
    "mixed",
    "destruction",
    "fracture",
    "metastasis",
    "other",
)
CERTAINTIES: Final[tuple[str, ...]] = ("positive", "suspicious", "negated")
SUSPICION_KINDS: Final[frozenset[str]] = frozenset(FINDING_KINDS) - {"other"}
"""Finding kinds that raise a suspicion of bone metastasis when positive or suspicious
(``other`` — degeneration, bone islands, osteoporosis … — does not)."""

MAX_CHARS: Final = 100_000
"""Longer texts are refused (a CT report is a few thousand characters)."""


class EmptyReport(InputError):
    """The report text is empty (or only whitespace)."""

    code = "EMPTY_REPORT"


@dataclass(frozen=True, slots=True)
class BoneFinding:
    """One bone abnormality the report states, hedges or denies."""

    site: str
    level: str | None
    side: str | None
    finding: str
    certainty: str
    text: str

    def to_json(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "level": self.level,
            "side": self.side,
            "finding": self.finding,
            "certainty": self.certainty,
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class ReportCheck:
    """What one report says about bone (the JSON of interfaces.md)."""

    bone_window: str
    evidence: tuple[str, ...]
    findings: tuple[BoneFinding, ...]

    @property
    def described(self) -> bool:
        return self.bone_window == "described"

    @property
    def bone_suspicion(self) -> str | None:
        """``positive`` / ``suspicious`` when a finding of a :data:`SUSPICION_KINDS` kind is
        stated / hedged (the strongest), else ``None``. Never a confirmation by itself."""
        certainties = {f.certainty for f in self.findings if f.finding in SUSPICION_KINDS}
        for c in ("positive", "suspicious"):
            if c in certainties:
                return c
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "bone_window": self.bone_window,
            "evidence": list(self.evidence),
            "findings": [f.to_json() for f in self.findings],
        }


# ---- vocabulary ---------------------------------------------------------------------------------

_CN_NUM: Final[dict[str, int]] = {
    "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
    "十": 10, "十一": 11, "十二": 12,
}  # fmt: skip
_LEVEL_MAX: Final[dict[str, int]] = {"C": 7, "T": 12, "L": 5, "S": 5}
_LEVEL_SITE: Final[dict[str, Site]] = {
    "C": Site.CERVICAL_SPINE,
    "T": Site.THORACIC_SPINE,
    "L": Site.LUMBAR_SPINE,
    "S": Site.SACRUM,
}
_CN_REGION: Final[dict[str, str]] = {"颈": "C", "胸": "T", "腰": "L", "骶": "S"}
_NUM: Final = r"(?:1[0-2]|[1-9]|十[一二]?|[一二两三四五六七八九])"

# Landmarks that name a bone without being about it (lymph nodes, vessels, pleura): masked first.
_LANDMARKS: Final = re.compile(
    r"锁骨上|锁骨下|肋膈角|肋间|肋胸膜|胸骨后|胸骨旁|椎旁|脊柱旁|椎前|骶前|髂血管|髂总|髂内|髂外|"
    r"髂动脉|髂静脉|髂窝|肩胛下|肩胛区皮下|"
    r"supraclavicular|infraclavicular|subclavian|costophrenic|intercostal|paravertebral|"
    r"paraspinal|prevertebral|retrosternal|parasternal|presacral|"
    r"iliac\s+(?:arter\w*|vessels?|veins?|nodes?|lymph\w*|chains?|bifurcation|fossa)"
)

# Latin vertebra levels (T7, L3-5, T7/8, T11~12), not TNM (T2a, N1) nor MR (T1WI).
_LATIN_LEVEL: Final = re.compile(
    r"(?<![A-Za-z0-9])([CTLS])(\d{1,2})(?:\s*(?:-|~|～|—|至|到)\s*([CTLS])?(\d{1,2}))?"
    r"(?![0-9]|[A-Za-z]|加权|期)"
)
_CN_LEVEL: Final = re.compile(
    r"第?(" + _NUM + r")(?:\s*(?:-|~|～|—|至|到)\s*第?(" + _NUM + r"))?\s*([颈胸腰骶])椎"
    r"|([颈胸腰骶])("
    + _NUM
    + r")(?:\s*(?:-|~|～|—|至|到)\s*[颈胸腰骶]?("
    + _NUM
    + r"))?(?=\s*(?:椎|椎体|附件|水平|、|，|,|及|和|与|$))"
)

# site words -> site code; the first pattern that matches a span wins (longest alternatives first)
_SITE_WORDS: Final[tuple[tuple[str, Site], ...]] = (
    (r"颅骨|颅板|额骨|顶骨|枕骨|颞骨|蝶骨|skull|calvari\w*", Site.SKULL),
    (r"颈椎|cervical\s+(?:spine|vertebra\w*)", Site.CERVICAL_SPINE),
    (r"胸椎|thoracic\s+(?:spine|vertebra\w*)", Site.THORACIC_SPINE),
    (r"腰椎|lumbar\s+(?:spine|vertebra\w*)", Site.LUMBAR_SPINE),
    (r"骶骨|骶椎|尾骨|sacrum|sacral|coccyx", Site.SACRUM),
    (r"髋臼|acetabul\w*", Site.ACETABULUM),
    (
        r"骨盆|髂骨|耻骨|坐骨|无名骨|髋骨|骶髂|pelvis|pelvic\s+bones?|ilium|iliac(?:\s+bones?|\s+wing)?|pubi\w*|ischi\w*",
        Site.PELVIS,
    ),
    (
        r"肋骨|第\s*(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*(?:前|后)?肋|肋(?![软])|ribs?\b",
        Site.RIB,
    ),
    (r"胸骨|sternum|sternal|manubri\w*", Site.STERNUM),
    (r"锁骨|clavic\w*", Site.CLAVICLE),
    (r"肩胛骨|肩胛|scapula\w*", Site.SCAPULA),
    (r"肱骨|humer\w*", Site.HUMERUS),
    (r"桡骨|尺骨|radius|ulna\w*", Site.RADIUS_ULNA),
    (r"股骨|femur|femor\w*", Site.FEMUR),
    (r"胫骨|腓骨|tibia\w*|fibula\w*", Site.TIBIA_FIBULA),
)
_SITE_RE: Final = [(re.compile(p, re.IGNORECASE), s) for p, s in _SITE_WORDS]

# words that make a sentence about bone without naming a site
_BONE_WORDS: Final = re.compile(
    r"骨窗|骨质|骨骼|诸骨|骨性胸廓|骨结构|骨皮质|骨髓|骨小梁|椎体|椎骨|椎弓|附件|脊柱|骨密度|"
    r"所见骨|骨(?:转移|破坏|折)|"
    r"\bbones?\b|\bbony\b|osseous|skelet\w*|\bvertebra\w*|\bspine\b|\bspinal column\b|cortex|cortical|"
    r"marrow|bone window",
    re.IGNORECASE,
)

# finding terms: (kind, pattern, needs a bone word in the sentence)
_FINDINGS: Final[tuple[tuple[str, str, bool], ...]] = (
    (
        "mixed",
        r"混合性|溶骨(?:性)?(?:与|和|及|、)成骨(?:性)?(?:混合)|成骨(?:性)?(?:与|和|及|、)溶骨(?:性)?(?:混合)|"
        r"mixed(?:\s+lytic[- ]\w+|\s+osteolytic[- ]\w+|\s+density)?",
        False,
    ),
    ("lytic", r"溶骨(?:性)?|骨质溶解|虫蚀(?:状|样)|(?:osteo)?lytic|lucen\w*", False),
    (
        "blastic",
        r"成骨(?:性)?|骨质硬化|硬化(?:性|灶|影)|骨质密度增高|密度增高|高密度(?:影|灶|结节)?|"
        r"(?:osteo)?blastic|sclero\w*",
        True,
    ),
    (
        "fracture",
        r"病理性骨折|压缩性骨折|骨折|压缩变扁|楔形变|(?:pathologic(?:al)?\s+|compression\s+)?fractures?",
        False,
    ),
    (
        "metastasis",
        r"骨转移(?:瘤|灶)?|(?:bone|osseous|skeletal|osteoblastic|osteolytic)\s+metasta\w*",
        False,
    ),
    ("metastasis", r"转移(?:瘤|灶|性病变|性)?|metasta\w*", True),
    (
        "destruction",
        r"骨质(?:膨胀性|虫蚀样|溶骨性|明显|广泛|多发)?破坏|骨破坏|骨皮质破坏|(?:bone|osseous|cortical)\s+destruction|"
        r"destructi\w*",
        False,
    ),
    ("destruction", r"破坏", True),
    (
        "other",
        r"骨岛|骨质增生|骨质疏松|许莫(?:氏|)结节|骨赘|骨质密度不均|骨(?:质)?密度减低|骨皮质毛糙|骨膜反应|"
        r"bone\s+islands?|enostos\w*|osteophyt\w*|osteopeni\w*|osteopor\w*|schmorl\w*|periosteal\s+reaction",
        False,
    ),
    (
        "other",
        r"血管瘤|退行性(?:变|改变)|退变|低密度(?:影|灶|区)|密度减低|异常密度(?:影|灶)?|占位|毛糙|"
        r"hemangioma\w*|degenerat\w*|lesions?|focus|foci",
        True,
    ),
)
_FINDING_RE: Final = re.compile(
    "|".join(f"(?P<{kind}{i}>{pattern})" for i, (kind, pattern, _) in enumerate(_FINDINGS)),
    re.IGNORECASE,
)
_NEEDS_BONE: Final[dict[str, bool]] = {f"{k}{i}": b for i, (k, _, b) in enumerate(_FINDINGS)}
_KIND_OF: Final[dict[str, str]] = {f"{k}{i}": k for i, (k, _, _) in enumerate(_FINDINGS)}
# a lytic/blastic/mixed pattern names the lesion; destruction/metastasis right behind it describe it
_PRECEDENCE: Final[dict[str, int]] = {
    "mixed": 0, "lytic": 1, "blastic": 1, "metastasis": 2, "destruction": 3, "other": 4, "fracture": 9,
}  # fmt: skip

# cues; classes: S = suspicion, N = negation before the term, P = negation after the term,
# X = negation of the whole clause (unlikely / not considered)
_CUES: Final[tuple[tuple[str, str], ...]] = (
    (
        "X",
        r"不考虑|可能性(?:不大|较小|小|低)|可能不大|unlikely|not\s+(?:thought|felt|considered)\s+to\s+be",
    ),
    (
        "S",
        r"不(?:能)?除外|未除外|不能排除|不排除|难以(?:除外|排除)|待(?:排除?|除外|查|定)|除外(?=[^，,。；;]{0,12}(?:可能|待))|"
        r"可能(?:性)?(?:大|较大)?|考虑|疑(?:似|为)?|可疑|倾向(?:于)?|似(?:见|为|有)|提示(?!骨)|"
        r"建议[^，,。；;]{0,12}(?:检查|随访|复查|扫描|MRI|ECT|骨扫描|活检|评估|核磁)|请结合临床|结合临床|必要时|"
        r"性质(?:待定|不明|未定)|[?？]|"
        r"cannot\s+be\s+(?:excluded|ruled\s+out)|can\s*not\s+(?:exclude|rule\s+out)|not\s+excluded|"
        r"(?:to\s+)?rule\s+out|r/o|possib\w*|probabl\w*|likely|suspicious|suspected|suspicion|"
        r"concerning|worrisome|suggest\w*|may\s+(?:represent|be)|could\s+(?:represent|be)|questionable|"
        r"indeterminate|equivocal|differential|consider\w*|correlat\w*|further\s+(?:evaluation|imaging|assessment)|"
        r"recommend\w*|follow[- ]up",
    ),
    ("S2", r"需(?:要)?(?:除外|排除)|请(?:除外|排除)"),
    ("B", r"(?<![可已])(?:排除|除外)"),
    (
        "P",
        r"不明显|未见显示|(?:可|已)(?:排除|除外)|阴性|\(-\)|(?:is|are|was|were)\s+not\s+(?:seen|identified|present|evident)|"
        r"(?:is|are|was|were)\s+absent|(?:was|were|is|are|been)\s+(?:excluded|ruled\s+out)",
    ),
    (
        "N",
        r"未见|未发现|未显示|未示|未探及|未及|未累及|无|没有|不伴|"
        r"\bno\b|\bnot\b|\bnor\b|\bwithout\b|negative\s+for|free\s+of|absence\s+of",
    ),
)
_CUE_RE: Final = re.compile(
    "|".join(f"(?P<{c}{i}>{p})" for i, (c, p) in enumerate(_CUES)), re.IGNORECASE
)

# a sentence that names bones only as a technique ("骨窗重建") or says they were not assessed
_NOT_ASSESSED: Final = re.compile(
    r"未(?:行|做|重建|观察|评估|包括|显示)[^，,。；;]{0,8}骨窗|骨窗[^，,。；;]{0,6}未(?:重建|观察|评估|提供)|"
    r"(?:bones?|osseous\s+structures?|bone\s+window)\s+(?:were\s+|was\s+|are\s+|is\s+)?not\s+(?:assessed|evaluated|reviewed|included)",
    re.IGNORECASE,
)
_TECHNIQUE: Final = re.compile(
    r"重建|窗宽|窗位|层厚|平扫|扫描|reconstruct\w*|kernel|slice|technique", re.IGNORECASE
)
_STATUS: Final = re.compile(
    r"未见|无|正常|完整|连续|光整|异常|改变|清晰|显示|示|见|规整|整齐|对称|增生|变|侧弯|曲度|序列|排列|"
    r"normal|unremarkable|intact|no\b|preserved|abnormal|seen|identified|show\w*|demonstrat\w*|present",
    re.IGNORECASE,
)

_SENTENCE_END: Final = re.compile(r"[。；;！!\n\r]+|[?？]+|(?<!\d)\.(?!\d)\s*|(?<=\d)\.(?=\s|$)\s*")
_CLAUSE_SEP: Final = re.compile(
    r"[，,：:]|\s+but\s+|\s+however\s+|\s+although\s+|\s+while\s+|\s+whereas\s+", re.IGNORECASE
)
_CONTENT: Final = re.compile(r"[^\W\d_]")
_ENUM_PREFIX: Final = re.compile(r"^\s*(?:\(?\d{1,2}[)、.．）]|[①-⑳]|[一二三四五六七八九十]、)\s*")
_LEFT: Final = re.compile(r"左|\bleft\b", re.IGNORECASE)
_RIGHT: Final = re.compile(r"右|\bright\b", re.IGNORECASE)
_BOTH: Final = re.compile(r"双侧|两侧|双|bilateral|both", re.IGNORECASE)
_PAIRED: Final = frozenset(
    {Site.RIB, Site.CLAVICLE, Site.SCAPULA, Site.HUMERUS, Site.RADIUS_ULNA, Site.FEMUR,
     Site.TIBIA_FIBULA, Site.PELVIS, Site.ACETABULUM}
)  # fmt: skip


def _number(token: str) -> int:
    return int(token) if token.isdigit() else _CN_NUM.get(token, 0)


@dataclass(frozen=True, slots=True)
class _Level:
    start: int
    level: str


def _levels(clause: str) -> list[_Level]:
    """Vertebral levels named in ``clause``, ranges expanded (L3-5 -> L3, L4, L5)."""
    out: list[_Level] = []

    def expand(region: str, first: int, last: int | None, at: int) -> None:
        top = _LEVEL_MAX[region]
        if not 1 <= first <= top:
            return
        end = first if last is None or not first < last <= top or last - first > 6 else last
        out.extend(_Level(at, f"{region}{n}") for n in range(first, end + 1))

    for m in _LATIN_LEVEL.finditer(clause):
        region = m.group(1)
        if m.group(3) and m.group(3) != region:
            expand(region, int(m.group(2)), None, m.start())
            expand(m.group(3), int(m.group(4)), None, m.start())
        else:
            expand(region, int(m.group(2)), int(m.group(4)) if m.group(4) else None, m.start())
    for m in _CN_LEVEL.finditer(clause):
        if m.group(3):
            region, first, last = _CN_REGION[m.group(3)], m.group(1), m.group(2)
        else:
            region, first, last = _CN_REGION[m.group(4)], m.group(5), m.group(6)
        expand(region, _number(first), _number(last) if last else None, m.start())
    out.sort(key=lambda lv: lv.start)
    return out


@dataclass(frozen=True, slots=True)
class _Place:
    site: Site
    level: str | None
    side: str | None


def _sites(clause: str) -> list[tuple[int, _Place]]:
    """Sites named in ``clause`` with their position (a level gives its spine site)."""
    found: list[tuple[int, _Place]] = [
        (lv.start, _Place(_LEVEL_SITE[lv.level[0]], lv.level, None)) for lv in _levels(clause)
    ]
    taken = [(lv.start, lv.start + 1) for lv in _levels(clause)]
    for pattern, site in _SITE_RE:
        for m in pattern.finditer(clause):
            if any(a <= m.start() < b for a, b in taken):
                continue
            taken.append((m.start(), m.end()))
            side = None
            if site in _PAIRED:
                before = clause[max(0, m.start() - 12) : m.start()]
                sides = [(x.start(), "left") for x in _LEFT.finditer(before)]
                sides += [(x.start(), "right") for x in _RIGHT.finditer(before)]
                both = [x.start() for x in _BOTH.finditer(before)]
                if sides:
                    at, nearest = max(sides)
                    side = None if any(b >= at - 1 for b in both) else nearest
            found.append((m.start(), _Place(site, None, side)))
    found.sort(key=lambda item: item[0])
    # a region word followed by levels of that region ("胸椎T7") is one place: keep the level
    levels = {p.site for _, p in found if p.level}
    return [(at, p) for at, p in found if p.level or p.site not in levels]


@dataclass(frozen=True, slots=True)
class _Hit:
    kind: str
    start: int
    end: int


_ORGANS: Final = re.compile(
    r"肺|肝|淋巴结|肾上腺|脑|胸膜|纵隔|结节|肿块|心包|胸腔|气管|支气管|甲状腺|乳腺|肾|脾|胰|"
    r"lung|pulmonary|liver|hepatic|nod(?:e|al|ule)|adrenal|brain|pleura\w*|mediastin\w*|mass",
    re.IGNORECASE,
)


def _finding_hits(clause: str, bone_context: bool) -> list[_Hit]:
    """Finding terms of ``clause``; a term that is not bone by itself (转移, 高密度, lesion)
    counts when the clause names a bone, or names no other organ in a sentence about bone."""
    hits: list[_Hit] = []
    clause_bone: bool | None = None
    for m in _FINDING_RE.finditer(clause):
        group = m.lastgroup or ""
        if _NEEDS_BONE[group]:
            if clause_bone is None:
                clause_bone = bool(_BONE_WORDS.search(clause)) or bool(_sites(clause))
            if not clause_bone and (not bone_context or _ORGANS.search(clause)):
                continue
        hits.append(_Hit(_KIND_OF[group], m.start(), m.end()))
    return hits


def _cues(clause: str) -> list[tuple[str, int, int]]:
    return [((m.lastgroup or "S")[0], m.start(), m.end()) for m in _CUE_RE.finditer(clause)]


def _certainty(cues: list[tuple[str, int, int]], hit: _Hit) -> str:
    if any(c == "X" for c, _, _ in cues):
        return "negated"
    if any(c in "NB" and end <= hit.start for c, _, end in cues):
        return "negated"
    if any(c in "PB" and start >= hit.end for c, start, _ in cues):
        return "negated"
    if any(c == "S" for c, _, _ in cues):
        return "suspicious"
    return "positive"


def _normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def split_sentences(text: str) -> list[str]:
    """The sentences of a report, as written (stripped, enumeration numbers removed); a
    question mark stays with its sentence (it hedges)."""
    out: list[str] = []
    last = 0
    for m in (*_SENTENCE_END.finditer(text), None):
        end = len(text) if m is None else m.start()
        hedge = "?" if m is not None and ("?" in m.group() or "？" in m.group()) else ""
        piece = _ENUM_PREFIX.sub("", text[last:end]).strip()
        last = len(text) if m is None else m.end()
        if _CONTENT.search(piece):
            out.append(piece + hedge)
    return out


def _mask(sentence: str) -> str:
    """``sentence`` normalized (NFKC) with bone-named landmarks blanked out."""
    text = (
        _normalize(sentence)
        .replace("无名骨", "髋骨")
        .replace("胸腰椎", "胸椎腰椎")
        .replace("颈胸椎", "颈椎胸椎")
    )
    return _LANDMARKS.sub(lambda m: "#" * len(m.group()), text)


def _is_hedge_only(clause: str) -> bool:
    rest = _CUE_RE.sub("", clause)
    rest = re.sub(
        r"[\W_]|MRI|ECT|CT|PET|进一步|检查|随访|复查|建议|明确|必要时|行|做|结合|临床",
        "",
        rest,
        flags=re.IGNORECASE,
    )
    return any(c == "S" for c, _, _ in _cues(clause)) and len(rest) <= 4


def check_report(text: str) -> ReportCheck:
    """What the CT report ``text`` says about bone.

    Raises
    ------
    EmptyReport
        ``text`` is empty or only whitespace (interfaces.md: refused, exit 2).
    InputError
        ``text`` is longer than :data:`MAX_CHARS`.
    """
    if not text or not text.strip():
        raise EmptyReport("报告文本为空 / the report text is empty")
    if len(text) > MAX_CHARS:
        raise InputError(
            f"报告文本超过{MAX_CHARS}字 / the report text is longer than {MAX_CHARS} characters"
        )
    evidence: list[str] = []
    findings: list[BoneFinding] = []
    sentences = split_sentences(text)
    previous: list[int] = []  # indexes in ``findings`` of the previous sentence's positive findings
    for sentence in sentences:
        masked = _mask(sentence)
        if _NOT_ASSESSED.search(masked):
            previous = []
            continue
        places_in_sentence = _sites(masked)
        bone_context = (
            bool(places_in_sentence)
            or bool(_BONE_WORDS.search(masked))
            or any(not _NEEDS_BONE[m.lastgroup or ""] for m in _FINDING_RE.finditer(masked))
        )
        clauses = [c for c in _CLAUSE_SEP.split(masked) if c.strip()]
        sentence_findings: list[BoneFinding] = []
        last_places: list[_Place] = []
        mentioned = False
        for clause in clauses:
            places = _sites(clause)
            hits = _finding_hits(clause, bone_context)
            cues = _cues(clause)
            if not hits:
                if _is_hedge_only(clause) and sentence_findings:
                    sentence_findings = [
                        _replace_certainty(f, "suspicious") if f.certainty == "positive" else f
                        for f in sentence_findings
                    ]
                if places:
                    last_places = [p for _, p in places]
                continue
            mentioned = True
            for place, group in _group_hits(hits, places, last_places):
                for hit in group:
                    findings_place = place or _Place(Site.OTHER, None, None)
                    sentence_findings.append(
                        BoneFinding(
                            site=findings_place.site.value,
                            level=findings_place.level,
                            side=findings_place.side,
                            finding=hit.kind,
                            certainty=_certainty(cues, hit),
                            text=sentence,
                        )
                    )
            if places:
                last_places = [p for _, p in places]
        if not sentence_findings and previous and _is_hedge_only(masked):
            for i in previous:
                findings[i] = _replace_certainty(findings[i], "suspicious")
        if bone_context and (mentioned or _is_statement(masked)):
            evidence.append(sentence)
        start = len(findings)
        findings.extend(_dedupe(sentence_findings))
        previous = [i for i in range(start, len(findings)) if findings[i].certainty == "positive"]
    return ReportCheck(
        bone_window="described" if evidence else "not_described",
        evidence=tuple(evidence),
        findings=tuple(findings),
    )


def _is_statement(sentence: str) -> bool:
    """A sentence about bones says something about them, not only how they were imaged."""
    return bool(_STATUS.search(_TECHNIQUE.sub("", sentence)))


def _replace_certainty(f: BoneFinding, certainty: str) -> BoneFinding:
    return BoneFinding(f.site, f.level, f.side, f.finding, certainty, f.text)


def _group_hits(
    hits: list[_Hit], places: list[tuple[int, _Place]], fallback: list[_Place]
) -> list[tuple[_Place | None, list[_Hit]]]:
    """The findings of one clause per place: every place the clause names (levels expanded)
    carries the clause's abnormalities; a lytic/blastic/mixed term absorbs a destruction or
    metastasis term of the same clause (one lesion); fractures stay separate."""
    kinds = sorted({h.kind for h in hits}, key=lambda k: _PRECEDENCE[k])
    lesion = [k for k in kinds if k not in {"fracture", "other"}]
    keep: list[str] = []
    if lesion:
        keep.append(lesion[0])
        if lesion[0] in {"lytic", "blastic"} and {"lytic", "blastic"} <= set(lesion):
            keep.append("blastic" if lesion[0] == "lytic" else "lytic")
        if (
            lesion[0] in {"metastasis", "destruction"}
            and "metastasis" in lesion
            and "destruction" in lesion
        ):
            keep.append("destruction" if lesion[0] == "metastasis" else "metastasis")
    if "fracture" in kinds:
        keep.append("fracture")
    if "other" in kinds and not lesion:
        keep.append("other")
    chosen = []
    for kind in keep:
        chosen.append(min((h for h in hits if h.kind == kind), key=lambda h: h.start))
    chosen.sort(key=lambda h: h.start)
    if not places:
        return [(p, chosen) for p in fallback] if fallback else [(None, chosen)]
    unique: list[_Place] = []
    for _, p in places:
        if p not in unique:
            unique.append(p)
    return [(p, chosen) for p in unique]


def _dedupe(items: list[BoneFinding]) -> list[BoneFinding]:
    """One finding per place and kind in a sentence: a later mention (the interpretation,
    "压缩变扁，考虑病理性骨折") gives the certainty; the first gives the order."""
    merged: dict[tuple[str, str | None, str | None, str], BoneFinding] = {}
    for f in items:
        key = (f.site, f.level, f.side, f.finding)
        merged[key] = _replace_certainty(merged[key], f.certainty) if key in merged else f
    return list(merged.values())


__all__ = [
    "CERTAINTIES",
    "CHECKER_VERSION",
    "FINDING_KINDS",
    "SUSPICION_KINDS",
    "BoneFinding",
    "EmptyReport",
    "ReportCheck",
    "check_report",
    "split_sentences",
]
