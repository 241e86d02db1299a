"""The maturity report's sections: the words, tables and charts of each, one call apiece.

The notebook calls :func:`csi_lib.maturity.prepare` once, then one ``show_*``
function per section; the words and tables are built by pure functions
(:func:`summary_text`, :func:`area_table`, :func:`todo_table`) that tests read.
"""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.figure import Figure

from csi_lib import display, plots
from csi_lib.maturity import charts
from csi_lib.maturity.assessment import Assessment
from csi_lib.maturity.model import LEVELS, default_model_path
from csi_lib.maturity.scoring import FULLY, LARGELY, SCALE, band, overall

__all__ = [
    "area_table",
    "show_agreement",
    "show_areas",
    "show_changes",
    "show_heatmap",
    "show_inputs",
    "show_method",
    "show_model",
    "show_next_levels",
    "show_radar",
    "show_summary",
    "show_title",
    "show_todo",
    "summary_text",
    "todo_table",
]


def _level(ctx: Assessment, k: int) -> str:
    return f"{k} {ctx.model.level_name(k)}"


def _signed(value: float) -> str:
    if math.isnan(value):
        return "—"
    return "0.0" if abs(value) < 0.05 else f"{value:+.1f}".replace("-", "−")


def _names(items: list[str]) -> str:
    items = [display.esc(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _trend(ctx: Assessment) -> tuple[list[str], list[str], list[str]]:
    """Area names that improved, held steady and declined against the previous quarter."""
    t = ctx.table.dropna(subset=["previous_score"])
    step = ctx.params.maturity.min_change
    up = t.loc[t["change"] >= step]
    down = t.loc[t["change"] <= -step]
    steady = t.loc[(t["change"] > -step) & (t["change"] < step)]
    return (up["area_name"].tolist(), steady["area_name"].tolist(), down["area_name"].tolist())


def summary_text(ctx: Assessment) -> str:
    """The executive summary in words (Markdown), generated from the numbers."""
    t = ctx.table
    over = overall(t)
    weakest = t.loc[t["area"].isin(over["weakest"]), "area_name"].tolist()
    where = f" for service {display.esc(ctx.service)}" if ctx.service else ""
    lines = [(f"**Overall maturity{where} in {ctx.label}: level "
              f"{_level(ctx, over['level'])}**, set by its weakest "
              f"area{'s' if len(weakest) > 1 else ''}, {_names(weakest)}. Across the {len(t)} "
              f"capability areas the average level is {over['mean_level']:.1f} and the "
              f"average score {over['mean_score']:.1f} of 5.")]
    if ctx.has_previous:
        before = overall(ctx.quarter_areas(ctx.previous_label))
        up, steady, down = _trend(ctx)
        moved = []
        for name in up:
            row = t.loc[t["area_name"] == name].iloc[0]
            text = f"{display.esc(name)} {row['previous_score']:.1f} → {row['score']:.1f}"
            if row["level_change"] > 0:
                text += f", reaching level {_level(ctx, int(row['level']))}"
            moved.append(text)
        sentence = (f"Against {ctx.previous_label} (overall level {before['level']}, average "
                    f"score {before['mean_score']:.1f}), **{len(up)} area"
                    f"{'s' if len(up) != 1 else ''} improved**, {len(steady)} held steady and "
                    f"{len(down)} declined.")
        if moved:
            sentence += " Improved: " + "; ".join(moved) + "."
        if down:
            sentence += f" Declined: {_names(down)}."
        lines.append(sentence)
    else:
        lines.append(f"There is no assessment for {ctx.previous_label}, so this report has no "
                     "quarter-on-quarter change.")
    n = ctx.params.maturity.stagnation_quarters
    for row in t.loc[t["stagnating"]].itertuples(index=False):
        goal = f" against a target of {int(row.target)}" if pd.notna(row.target) else ""
        lines.append(f"**{display.esc(row.area_name)} has not improved for {row.steady} "
                     f"quarters** (stagnation is flagged after {n}): score {row.score:.1f}, "
                     f"level {_level(ctx, int(row.level))}{goal}. Its to-do list below names "
                     "the practices to work on.")
    with_target = t.dropna(subset=["target"])
    if len(with_target):
        short = with_target.loc[~with_target["met"].astype(bool)].sort_values(
            "gap", ascending=False, kind="stable")
        met = with_target.loc[with_target["met"].astype(bool), "area_name"].tolist()
        text = f"Targets: **{len(met)} of {len(with_target)} areas at target**"
        text += f" ({_names(met)})" if met else ""
        if len(short):
            worst = short.iloc[0]
            text += (f"; the largest gap is {display.esc(worst['area_name'])}, "
                     f"{int(worst['gap'])} level{'s' if worst['gap'] != 1 else ''} short of "
                     f"level {int(worst['target'])}")
        lines.append(text + ".")
    for row in ctx.agreement.loc[ctx.agreement["disagree"]].itertuples(index=False):
        lines.append(f"Respondents **disagree widely on {display.esc(row.area_name)}**: their "
                     f"ratings of a practice differ by {row.spread:.0f} points on average"
                     + (f", and {row.split} practice{'s are' if row.split != 1 else ' is'} "
                        "rated two bands apart" if row.split else "")
                     + ". Agree on the evidence before acting on its score.")
    lowest = ctx.todo.loc[ctx.todo["area"].isin(over["weakest"])]
    if len(lowest):
        first = lowest.iloc[0]
        lines.append(f"The shortest way up the overall level: {display.esc(first['area_name'])}"
                     f" needs {len(lowest.loc[lowest['area'] == first['area']])} practices "
                     f"raised to reach level {int(first['for_level'])} (see *What holds each "
                     "area back*).")
    return "\n\n".join(lines)


def area_table(ctx: Assessment) -> pd.DataFrame:
    """One row per area: level, score, previous quarter, change, target, gap and flags."""
    rows = []
    for r in ctx.table.itertuples(index=False):
        flags = []
        if r.stagnating:
            flags.append(f"stagnating ({r.steady} quarters)")
        if r.disagree:
            flags.append("respondents disagree")
        if r.unrated:
            flags.append(f"{r.unrated} practice{'s' if r.unrated != 1 else ''} unrated")
        has_target = bool(pd.notna(r.target))
        gap = "—" if not has_target else "met" if r.gap == 0 else \
            f"{int(r.gap)} level{'s' if r.gap != 1 else ''}"
        rows.append({
            "Area": r.area_name,
            "Level": _level(ctx, int(r.level)),
            f"Score {ctx.label}": f"{r.score:.1f}",
            f"Score {ctx.previous_label}": "—" if r.previous_score != r.previous_score
            else f"{r.previous_score:.1f}",
            "Change": _signed(r.change),
            "Target": str(int(r.target)) if has_target else "—",
            "Gap": gap,
            "Notes": "; ".join(flags) or "—",
        })
    return pd.DataFrame(rows)


def todo_table(ctx: Assessment) -> pd.DataFrame:
    """The practices holding each area back, as the report's to-do list.

    One column per fact, each a single word or number, so that no cell wraps
    beside the practice's text.
    """
    rows = []
    last = None
    for r in ctx.todo.itertuples(index=False):
        rated = not math.isnan(r.achievement)
        rows.append({"Area": r.area_name if r.area != last else "",
                     "For level": str(int(r.for_level)),
                     "Practice": f"{r.practice} {r.text}",
                     "Now": band(r.achievement).code if rated else "unrated",
                     "Achieved": f"{r.achievement:.0f}%" if rated else "—",
                     "Needs": r.needs})
        last = r.area
    return pd.DataFrame(rows, columns=["Area", "For level", "Practice", "Now", "Achieved",
                                       "Needs"])


def _show_figure(fig: Figure, alt: str) -> None:
    plots.show_figure(fig, alt)


def show_title(ctx: Assessment) -> None:
    """A heading for analysts in JupyterLab (reports carry their own title block)."""
    scope = f", service {display.esc(ctx.service)}" if ctx.service else ""
    display.show_markdown(f"# Maturity assessment{scope}, {ctx.label}\n\n"
                          f"{display.esc(ctx.params.client.name)}")


def show_summary(ctx: Assessment) -> None:
    display.show_markdown(summary_text(ctx))


def show_radar(ctx: Assessment) -> None:
    t = ctx.table
    previous = t["previous_score"].tolist() if ctx.has_previous else None
    targets = [int(v) if pd.notna(v) else None for v in t["target"]]
    fig = charts.radar_chart(t["area_name"].tolist(), t["score"].tolist(), previous=previous,
                             targets=targets, labels=(ctx.label, ctx.previous_label),
                             level_names={k: ctx.model.level_name(k) for k in LEVELS})
    _show_figure(fig, f"Radar chart of the maturity score of each capability area in "
                      f"{ctx.label}, beside {ctx.previous_label} and the target level")


def show_areas(ctx: Assessment) -> None:
    display.show_table(area_table(ctx), caption=f"Capability areas in {ctx.label}")


def show_heatmap(ctx: Assessment) -> None:
    # pivot, not pivot_table: one score per area and quarter, never averaged.
    scores = ctx.areas.pivot(index="area", columns="quarter", values="score")  # noqa: PD010
    scores = scores.reindex(index=ctx.model.area_ids, columns=list(ctx.quarters))
    names = dict(zip(ctx.table["area"], ctx.table["area_name"], strict=True))
    scores.index = [names[a] for a in scores.index]
    # Leading quarters before the first assessment carry no information.
    first = next(q for q in ctx.quarters if q in ctx.files)
    scores = scores.loc[:, list(ctx.quarters[ctx.quarters.index(first):])]
    flagged = ctx.table.loc[ctx.table["stagnating"], "area_name"].tolist()
    fig = charts.heatmap_chart(scores, current=ctx.label, flagged=flagged)
    _show_figure(fig, "Heat map of the maturity score of each capability area by quarter")


def show_changes(ctx: Assessment) -> None:
    """Stagnation in words, after the heat map."""
    n = ctx.params.maturity.stagnation_quarters
    stuck = ctx.table.loc[ctx.table["stagnating"]]
    if ctx.has_previous:
        up, steady, down = _trend(ctx)
        parts = [f"improved: {_names(up)}" if up else "",
                 f"steady: {_names(steady)}" if steady else "",
                 f"declined: {_names(down)}" if down else ""]
        text = (f"Against {ctx.previous_label}, " + "; ".join(p for p in parts if p) + ". ")
    else:
        text = ""
    if stuck.empty:
        text += f"No area has gone {n} quarters without improving."
    else:
        text += (f"Stagnating (no rise of {ctx.params.maturity.min_change:.1f} or more for {n} "
                 f"quarters or longer, and below target): {_names(stuck['area_name'].tolist())}.")
    display.show_markdown(text)


def show_next_levels(ctx: Assessment) -> None:
    rows = []
    for r in ctx.table.itertuples(index=False):
        area = ctx.model.area(r.area)
        level = int(r.level)
        rows.append({"Area": r.area_name,
                     "Now": (f"{_level(ctx, level)}: {area.levels[level].description}"
                             if level else f"{_level(ctx, 0)}: level 1 not yet reached"),
                     "Next level": (f"{_level(ctx, level + 1)}: "
                                    f"{area.levels[level + 1].description}"
                                    if level < LEVELS[-1] else "— (top level)")})
    display.show_table(pd.DataFrame(rows), caption="Where each area stands, and what the next "
                                                   "level looks like")


def show_todo(ctx: Assessment) -> None:
    table = todo_table(ctx)
    if table.empty:
        display.show_markdown("Every area is at level 5: nothing holds them back.")
        return
    display.show_table(table, caption=(
        "Practices to raise for each area's next level: median rating now and the band it "
        f"needs (L largely, >{LARGELY:g}%; F fully, >{FULLY:g}%)"))


def _respondent_labels(rows: pd.DataFrame) -> dict[str, str]:
    """Roles where every respondent has a distinct one (what leaders recognise), else names."""
    people = rows.drop_duplicates("respondent")[["respondent", "role"]]
    roles = people["role"].tolist()
    if all(roles) and len(set(roles)) == len(roles):
        return dict(zip(people["respondent"], people["role"], strict=True))
    return {p: p for p in people["respondent"]}


def show_agreement(ctx: Assessment) -> None:
    a = ctx.agreement
    rows = [{"Area": r.area_name, "Respondents": str(r.respondents),
             "Practices compared": str(r.compared),
             "Mean spread": "—" if r.spread != r.spread else f"{r.spread:.0f} pts",
             "Two bands apart": str(r.split),
             "Verdict": ("fewer than two respondents" if r.compared == 0 else
                         "disagree widely" if r.disagree else "agree")}
            for r in a.itertuples(index=False)]
    threshold = ctx.params.maturity.disagreement * 100
    display.show_table(pd.DataFrame(rows), caption=f"Respondent agreement in {ctx.label}: "
                       f"spread = highest minus lowest rating of a practice; wide above "
                       f"{threshold:.0f} points")
    now = ctx.responses.loc[ctx.responses["quarter"] == ctx.label]
    for r in a.loc[a["disagree"]].itertuples(index=False):
        practices = ctx.practices.loc[(ctx.practices["quarter"] == ctx.label)
                                      & (ctx.practices["area"] == r.area)]
        top = practices.dropna(subset=["spread"]).sort_values("spread", ascending=False,
                                                              kind="stable").head(5)
        mine = now.loc[now["practice"].isin(top["practice"])]
        labels = _respondent_labels(mine)
        grid = mine.pivot(  # noqa: PD010 (text values: nothing to aggregate)
            index="practice", columns="respondent", values="rating")
        grid = grid.reindex(index=top["practice"], columns=list(labels)).fillna("—")
        grid.columns = [labels[c] for c in grid.columns]
        grid.insert(0, "Practice", [f"{p} {t}" for p, t in zip(top["practice"], top["text"],
                                                               strict=True)])
        display.show_table(grid.reset_index(drop=True),
                           caption=f"{r.area_name}: the practices rated furthest apart")


def show_method(ctx: Assessment) -> None:
    s = ctx.params.maturity
    scale = pd.DataFrame([{"Rating": b.code, "Meaning": b.name, "Achievement": b.range_text,
                           "A letter counts as": f"{b.midpoint:g}%"} for b in SCALE])
    display.show_table(scale, caption="Rating scale (ISO/IEC 33020)")
    display.show_markdown(
        "- **Practice rating**: the median of the respondents' ratings (letters count as their "
        "band's midpoint); a practice nobody rated counts as not achieved.\n"
        "- **Level of an area** (ISO/IEC 33020 rule): level *k* is reached when every "
        f"level-*k* practice is at least largely achieved (>{LARGELY:g}%) and every practice "
        f"of the lower levels fully achieved (>{FULLY:g}%). Below level 1 an area is at "
        "level 0, incomplete.\n"
        "- **Score** (for trends): the level plus tenths of the way to the next level, "
        "measured over the practices that gate it (the current level's towards fully, the "
        "next level's towards largely), rounded down, so a score never shows a level that "
        "is not reached.\n"
        "- **Overall maturity**: the level of the weakest area (an organisation is only as "
        "capable as its weakest area, as in ITIL maturity assessments), shown beside the "
        "average level and score.\n"
        f"- **Stagnation**: an area below its target whose score has not risen by "
        f"{s.min_change:.1f} or more in each of the last {s.stagnation_quarters} quarters.\n"
        f"- **Disagreement**: an area whose practices' ratings differ, on average, by more "
        f"than {s.disagreement * 100:.0f} points between the highest and lowest respondent.\n"
        "- **Targets** per area come from the client's parameters (`maturity.targets`).")


def show_model(ctx: Assessment) -> None:
    m = ctx.model
    display.show_markdown(f"Model: **{display.esc(m.name)}**, version {display.esc(m.version)}"
                          f" ({len(m.areas)} areas, {len(m.practice_table)} practices)."
                          + (f" {display.esc(m.description)}" if m.description else ""))
    levels = pd.DataFrame([{"Level": f"{k} {lvl.name}", "Meaning": lvl.description}
                           for k, lvl in m.levels.items()])
    display.show_table(levels, caption="Levels")
    areas = pd.DataFrame([{"Area": a.name, "What it covers": a.description,
                           "Practices": str(len(a.practices))} for a in m.areas])
    display.show_table(areas, caption="Capability areas")


def show_inputs(ctx: Assessment) -> None:
    rows = []
    total = len(ctx.model.practice_table)
    for q, path in ctx.files.items():
        mine = ctx.responses.loc[ctx.responses["quarter"] == q]
        rows.append({"Quarter": q, "File": path.name,
                     "Respondents": str(mine["respondent"].nunique()),
                     "Ratings": f"{len(mine):,}",
                     "Practices rated": f"{mine['practice'].nunique()} of {total}"})
    display.show_table(pd.DataFrame(rows), caption="Questionnaires read")
    model = ctx.model
    source = ("the kit's standard model" if model.source == default_model_path().resolve()
              else f"the client's model file {model.source.name if model.source else ''}")
    notes = [(f"Read from the client's questionnaire folder (`maturity.questionnaires` in "
              f"its parameters); quarters after {ctx.label} are never read. Model: "
              f"{display.esc(model.name)} version {display.esc(model.version)}, "
              f"{display.esc(source)}.")]
    unrated = ctx.practices.loc[(ctx.practices["quarter"] == ctx.label)
                                & (ctx.practices["respondents"] == 0), "practice"].tolist()
    if unrated:
        notes.append(f"Not rated by anyone in {ctx.label}, so counted as not achieved: "
                     f"{', '.join(display.esc(p) for p in unrated)}.")
    if ctx.ignored:
        notes.append("Files in the folder not named `<YYYYQn>.xlsx`, so not read: "
                     + ", ".join(display.esc(p.name) for p in ctx.ignored) + ".")
    display.show_markdown("\n\n".join(notes))
