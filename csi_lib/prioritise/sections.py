"""What each section of the prioritisation report shows: tables built by pure functions
(tested) and the ``show_*`` calls the notebook makes, one per section.

Tables hold preformatted strings; :func:`csi_lib.display.show_table` escapes
them. Register text placed in Markdown goes through :func:`display.esc`.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from csi_lib import catalogue, display, plots
from csi_lib.kpis import NO_TICKETS
from csi_lib.params.prioritisation import CRITERIA
from csi_lib.prioritise import charts
from csi_lib.prioritise.benefits import benefit_frame, review_candidates
from csi_lib.prioritise.report import Prioritisation
from csi_lib.prioritise.scoring import QUADRANTS
from csi_lib.prioritise.summary import balance_sentence, plural, stability_sentence, summary_text

__all__ = [
    "balance_table",
    "cross_service_table",
    "dependency_table",
    "held_back_table",
    "log_table",
    "not_fitted_table",
    "plan_table",
    "ranking_table",
    "sensitivity_table",
    "service_table",
    "show_balance",
    "show_benefits",
    "show_decision_log",
    "show_dependencies",
    "show_method",
    "show_not_fitted",
    "show_plan",
    "show_ranking",
    "show_sensitivity",
    "show_services",
    "show_suggestions",
    "show_summary",
    "show_title",
    "show_workbook",
    "suggestion_table",
]

_LIVE = ("committed", "in plan", "did not fit", "blocked", "below threshold")


def _figure(fig: Figure) -> None:
    plots.show_figure(fig)


def _score(ctx: Prioritisation, value: object) -> str:
    if not isinstance(value, float) or math.isnan(value):
        return "–"
    return {"weighted": f"{value:.1f}", "wsjf": f"{value:.2f}",
            "rice": f"{value:,.1f}"}[ctx.params.prioritisation.model]


def _services(service: str, others: tuple[str, ...]) -> str:
    return ", ".join((service, *others))


def _hours(value: float) -> str:
    return f"{value:,.0f} h"


def _short(text: object, limit: int = 60) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _id(text: object) -> str:
    """An id that never breaks at its hyphen in a table cell (non-breaking hyphen U+2011)."""
    return str(text).replace("-", "\u2011")


def _ids(ids: tuple[str, ...]) -> str:
    return ", ".join(_id(i) for i in ids) or "–"


def _rank(value: object) -> str:
    return "–" if pd.isna(value) else str(int(value))


# ---------------------------------------------------------------- tables


def plan_table(ctx: Prioritisation) -> pd.DataFrame:
    """The quarter's plan in dependency order: work in progress first."""
    rows = ctx.rows.loc[ctx.rows["plan_order"].notna()].sort_values("plan_order")
    return pd.DataFrame({
        "#": rows["plan_order"].map(_rank),
        "ID": rows["id"].map(_id), "Initiative": rows["title"].map(_short),
        "Services": [_services(s, o) for s, o in zip(rows["service"], rows["other_services"],
                                                     strict=True)],
        "Status": rows["status"],
        ctx.model_label.capitalize(): rows["score"].map(lambda v: _score(ctx, v)),
        "Hours": rows["effort_hours"].map(_hours),
        "Cumulative": rows["effort_hours"].cumsum().map(_hours),
        "Waits for": rows["depends_on"].map(_ids),
    })


def not_fitted_table(ctx: Prioritisation) -> pd.DataFrame:
    """Ranked proposals that did not fit the quarter's capacity, with the reason."""
    rows = ctx.rows.loc[ctx.rows["decision"] == "did not fit"].sort_values("rank")
    return pd.DataFrame({
        "Rank": rows["rank"].map(_rank), "ID": rows["id"].map(_id),
        "Initiative": rows["title"].map(_short),
        "Hours": rows["effort_hours"].map(_hours), "Why it waits": rows["reason"],
    })


def held_back_table(ctx: Prioritisation) -> pd.DataFrame:
    """Proposals filtered by the threshold or blocked by a prerequisite."""
    rows = ctx.rows.loc[ctx.rows["decision"].isin(["blocked", "below threshold"])]
    rows = rows.sort_values(["decision", "id"])
    return pd.DataFrame({"ID": rows["id"].map(_id), "Initiative": rows["title"].map(_short),
                         "Service": rows["service"], "Held back": rows["decision"],
                         "Reason": rows["reason"]})


def ranking_table(ctx: Prioritisation) -> pd.DataFrame:
    """The backlog in the order work would start: dependencies first, then by score."""
    rows = ctx.rows.loc[ctx.rows["decision"].isin(["committed", "in plan", "did not fit"])]
    rows = rows.sort_values("backlog_order")
    return pd.DataFrame({
        "#": rows["backlog_order"].map(_rank), "Rank": rows["rank"].map(_rank),
        "ID": rows["id"].map(_id), "Initiative": rows["title"].map(_short, limit=52),
        "Services": [_services(s, o) for s, o in zip(rows["service"], rows["other_services"],
                                                     strict=True)],
        ctx.model_label.capitalize(): rows["score"].map(lambda v: _score(ctx, v)),
        "Hours": rows["effort_hours"].map(_hours), "Decision": rows["decision"],
    })


def balance_table(ctx: Prioritisation) -> pd.DataFrame:
    """Quick wins against transformational work: open initiatives and the plan, by quadrant."""
    rows = ctx.rows.loc[ctx.rows["decision"].isin(["committed", "in plan", "did not fit"])]
    planned = rows.loc[rows["plan_order"].notna()]
    out = []
    for q in QUADRANTS:
        pool, chosen = rows.loc[rows["quadrant"] == q], planned.loc[planned["quadrant"] == q]
        out.append({"Type": q, "Open": f"{len(pool)}",
                    "Open hours": _hours(pool["effort_hours"].sum()),
                    "In the plan": f"{len(chosen)}",
                    "Plan hours": _hours(chosen["effort_hours"].sum())})
    return pd.DataFrame(out)


def dependency_table(ctx: Prioritisation) -> pd.DataFrame:
    """Open initiatives that wait for others, with where each prerequisite stands."""
    rows = ctx.rows
    where = dict(zip(rows["id"], rows["decision"], strict=True))
    live = rows.loc[rows["decision"].isin(_LIVE) & rows["depends_on"].map(bool)]
    live = live.sort_values(["backlog_order", "id"], na_position="last")
    return pd.DataFrame({
        "ID": live["id"].map(_id), "Initiative": live["title"].map(_short),
        "Waits for": live["depends_on"].map(
            lambda deps: "; ".join(f"{_id(d)} ({where.get(d, 'unknown')})" for d in deps)),
        "Decision": live["decision"],
    })


def cross_service_table(ctx: Prioritisation) -> pd.DataFrame:
    """Initiatives that touch more than one service."""
    rows = ctx.rows
    multi = rows.loc[rows["other_services"].map(bool) & rows["decision"].isin(_LIVE)]
    return pd.DataFrame({
        "ID": multi["id"].map(_id), "Initiative": multi["title"].map(_short),
        "Services": [_services(s, o) for s, o in zip(multi["service"], multi["other_services"],
                                                     strict=True)],
        "Decision": multi["decision"],
    })


def sensitivity_table(ctx: Prioritisation) -> pd.DataFrame:
    """One row per weight moved: the new weight, the top of the ranking, and whether it held."""
    sens = ctx.sensitivity
    s = sens.scenarios
    return pd.DataFrame({
        "Weight moved": s["criterion"].str.replace("_", " "),
        "Change": s["change"], "New weight": s["weight"].map("{:.0%}".format),
        f"Top {sens.top_n}": s["top"].map(_ids),
        "Same set": s["same_set"].map({True: "yes", False: "no"}),
        "Leader": s["leader"].map(_id),
    })


def suggestion_table(ctx: Prioritisation) -> pd.DataFrame:
    """Initiatives suggested by the gap analysis, and whether the register covers them."""
    s = ctx.suggestions
    return pd.DataFrame({
        "Service": s["service"],
        "KPI": s["kpi"].map(lambda k: catalogue.get(k).label if k in catalogue.CATALOGUE
                            else str(k)),
        "Trigger": s["rules"], "Since": s["since"],
        "Evidence": s["evidence"].map(lambda e: _short(e, 80)),
        "Covered by": s["covered_by"].map(lambda c: _id(c) if c else "not yet"),
    })


def service_table(ctx: Prioritisation, service: str) -> pd.DataFrame:
    """One service's initiatives (led or touched), in backlog order, then the rest."""
    rows = ctx.rows
    mine = rows.loc[(rows["service"] == service)
                    | rows["other_services"].map(lambda o: service in o)]
    mine = mine.sort_values(["backlog_order", "rank", "id"], na_position="last")
    return pd.DataFrame({
        "ID": mine["id"].map(_id), "Initiative": mine["title"].map(_short, limit=52),
        "Role": ["leads" if s == service else "touches" for s in mine["service"]],
        "Status": mine["status"], "Decision": mine["decision"],
        "Rank": mine["rank"].map(_rank),
        "Hours": mine["effort_hours"].map(lambda h: "–" if math.isnan(h) else _hours(h)),
    })


def log_table(ctx: Prioritisation) -> pd.DataFrame:
    """The decision log, newest quarter first."""
    log = ctx.log
    return pd.DataFrame({"When": log["Quarter"], "ID": log["ID"].map(_id),
                         "Initiative": log["Title"].map(_short, limit=40),
                         "Decision": log["Decision"], "Reason": log["Reason"].map(_short,
                                                                                  limit=110)})


# ---------------------------------------------------------------- sections


def show_title(ctx: Prioritisation) -> None:
    """A heading for analysts in JupyterLab (reports carry their own title block)."""
    display.show_markdown(f"# Prioritisation: {display.esc(ctx.params.client.name)}, "
                          f"{ctx.label}")


def show_summary(ctx: Prioritisation) -> None:
    display.show_markdown(summary_text(ctx))


def show_plan(ctx: Prioritisation) -> None:
    _figure(charts.capacity_chart(ctx.plan))
    display.show_table(plan_table(ctx), caption=f"The plan for {ctx.label}, in the order to "
                                                 "start: nothing before what it waits for")


def show_not_fitted(ctx: Prioritisation) -> None:
    table = not_fitted_table(ctx)
    if table.empty:
        display.show_markdown("Every ranked proposal fits this quarter's capacity.")
    else:
        display.show_table(table, caption="Ranked proposals that did not fit this quarter")
    held = held_back_table(ctx)
    if not held.empty:
        display.show_table(held, caption="Proposals held back before ranking")


def show_ranking(ctx: Prioritisation) -> None:
    display.show_table(ranking_table(ctx), caption=f"The backlog ranked by "
                                                    f"{ctx.model_label}, in dependency order")


def show_balance(ctx: Prioritisation) -> None:
    _figure(charts.impact_effort_matrix(ctx.rows))
    display.show_markdown(balance_sentence(ctx))
    display.show_table(balance_table(ctx), caption="Portfolio balance: open initiatives and "
                                                   "the plan, by type")


def show_dependencies(ctx: Prioritisation) -> None:
    deps, multi = dependency_table(ctx), cross_service_table(ctx)
    if deps.empty:
        display.show_markdown("No open initiative waits for another.")
    else:
        display.show_table(deps, caption="Initiatives that wait for others")
    if not multi.empty:
        display.show_table(multi, caption="Initiatives that touch several services")


def show_sensitivity(ctx: Prioritisation) -> None:
    display.show_markdown(stability_sentence(ctx))
    titles = dict(zip(ctx.rows["id"], ctx.rows["title"], strict=True))
    _figure(charts.rank_ranges(ctx.sensitivity, titles))
    display.show_table(sensitivity_table(ctx), caption="The top of the ranking with each "
                                                       "weight moved, the others rescaled")


def show_suggestions(ctx: Prioritisation) -> None:
    if not ctx.triggers_available:
        display.show_markdown("No gap-analysis triggers were available for this period, so no "
                              "initiative is suggested by the data.")
        return
    if ctx.suggestions.empty:
        display.show_markdown("The gap analysis raised no improvement review this quarter.")
        return
    display.show_markdown(
        "Each KPI that breached its target for several periods in a row, or moved the wrong "
        "way beyond its control limits, suggests an initiative. Suggestions are not added to "
        "the register: adopt one by copying it from the workbook's *Suggestions* sheet.")
    display.show_table(suggestion_table(ctx), caption="Initiatives suggested by the data")


def show_services(ctx: Prioritisation) -> None:
    """One sub-section per service: its initiatives and what the data suggests for it."""
    for svc in ctx.params.services:
        table = service_table(ctx, svc.id)
        name = display.esc(svc.name)
        if table.empty:
            words = [f"The register holds no initiative for {name}."]
        else:
            dec = table["Decision"].value_counts()
            words = [(f"{plural(len(table), 'initiative')} concern {name}: "
                     f"{dec.get('in plan', 0) + dec.get('committed', 0)} in this quarter's "
                     f"plan, {dec.get('did not fit', 0)} waiting for capacity.")]
        if svc.id in ctx.quiet:
            words.append(f"{NO_TICKETS} for {name}: no ticket opened, resolved or still open "
                         f"in {ctx.label}.")
        sugg = ctx.suggestions.loc[ctx.suggestions["service"] == svc.id]
        if len(sugg):
            open_ = int((sugg["covered_by"] == "").sum())
            words.append(f"The data suggests {plural(len(sugg), 'review')}, {open_} not yet "
                         "covered by the register.")
        display.show_markdown(f"### {name}\n\n" + " ".join(words))
        if not table.empty:
            display.show_table(table, caption=f"Initiatives of {svc.name}")


def show_benefits(ctx: Prioritisation) -> None:
    """Delivered initiatives with the benefit review's verdict and the next step."""
    if ctx.verdicts is None:
        display.show_markdown("The benefit review's verdicts were not passed to this report, "
                              "so delivered initiatives are shown without them.")
        return
    if ctx.verdicts.empty:
        display.show_markdown("No initiative was delivered in the benefit review's window.")
        return
    back = review_candidates(ctx.verdicts)
    words = (f"{plural(len(back), 'delivered initiative')} did not move "
             f"{'its' if len(back) == 1 else 'their'} KPI ("
             + ", ".join(_id(i) for i in back["initiative"])
             + "): each comes back as a review candidate, to find out why or to stop."
             if len(back) else "Every delivered initiative that could be judged moved its KPI.")
    display.show_markdown(words + " The benefit review report gives the evidence.")
    table = benefit_frame(ctx.verdicts)[["ID", "Title", "Service", "Linked KPI", "Expected",
                                         "Effect", "Verdict", "Next step"]]
    table = table.assign(ID=table["ID"].map(_id), Title=table["Title"].map(_short))
    display.show_table(table, caption="Delivered initiatives: verdict of the benefit review")


def show_decision_log(ctx: Prioritisation) -> None:
    carried = (f"It continues the log published with {ctx.previous_log.parent.name}."
               if ctx.previous_log else
               "No earlier published backlog was found, so the log starts this quarter; "
               "rejections carry the quarter of their decision date.")
    display.show_markdown(f"Every rejected, filtered or deferred proposal, with its reason. "
                          f"{carried}")
    display.show_table(log_table(ctx), caption="Decision log")


def show_workbook(ctx: Prioritisation, path: Path) -> None:
    """Say what the hand-over workbook holds (by name: it travels beside the report)."""
    live = int(ctx.rows["decision"].isin(_LIVE).sum())
    display.show_markdown(
        f"The workbook **{display.esc(Path(path).name)}** hands this backlog over: the ranked "
        f"backlog ({live} open initiatives), the plan for {ctx.label}, what did not fit, the "
        f"decision log ({len(ctx.log)} entries), the initiatives suggested by the data "
        f"({len(ctx.suggestions)}) and the settings used. Every cell copied from the register "
        "is stored as text, never as a formula.")


def show_method(ctx: Prioritisation) -> None:
    """The appendix: how scores, threshold, plan and types are worked out."""
    s = ctx.params.prioritisation
    weights = pd.DataFrame({
        "Criterion": [k.replace("_", " ") for k in s.weights],
        "Weight": [f"{v:.0%}" for v in s.weights.values()],
        "Better when": ["higher" if CRITERIA[k] == "benefit" else "lower" for k in s.weights],
    })
    display.show_markdown(
        f"**Ranking model: {ctx.model_label}.** The weighted score puts each 1-5 score on a "
        "0-1 scale with more always better (effort and risk inverted), multiplies it by the "
        "client's weight and sums to 0-100. WSJF is business impact plus time criticality plus "
        "risk reduction, divided by the effort score. RICE is reach times business impact "
        "times confidence, divided by effort hours.\n\n"
        f"**Minimum viable improvement.** A proposal linked to a KPI must expect at least "
        f"{s.min_improvement:.0%} improvement on it, in the KPI's better direction, to be "
        "ranked; proposals without a linked KPI (compliance or enabling work) are ranked "
        "without this test.\n\n"
        f"**Plan.** {s.improvement_share:.0%} of {s.team_hours_per_quarter:,.0f} team hours, "
        f"{s.capacity_hours:,.0f} h, are ring-fenced for improvement. Work in progress is "
        "committed first; among the ranked proposals, the plan is the set with the greatest "
        "total score whose effort hours fit what is left, taking an initiative only with "
        "everything it depends on (a 0/1 knapsack with precedence, solved exactly by branch "
        "and bound"
        + ("" if ctx.plan.optimal else "; this quarter's search stopped before proving its "
           "plan best") + ").\n\n"
        "**Types.** Quick wins have a business impact of 4-5 for an effort of 1-2; "
        "transformational work the same impact for an effort of 3-5; fill-ins an impact of "
        "1-3 for an effort of 1-2; the rest is hard to justify.\n\n"
        f"**Sensitivity.** Each weight in turn is moved {s.sensitivity_step:.0%} up and down "
        f"and the others rescaled to sum to 1; the report counts how often the top {s.top_n} "
        "keeps the same initiatives.")
    display.show_table(weights, caption="Weights of the weighted score")
