"""The executive summary of the prioritisation report, in words generated from the numbers."""

from __future__ import annotations

from csi_lib import display
from csi_lib.prioritise.report import Prioritisation

__all__ = ["balance_sentence", "plural", "stability_sentence", "summary_text"]


def _short(text: object, limit: int = 70) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def summary_text(ctx: Prioritisation) -> str:
    """The executive summary in words (Markdown), generated from the numbers."""
    rows, plan, settings = ctx.rows, ctx.plan, ctx.params.prioritisation
    counts = rows["status"].value_counts()
    by_status = ", ".join(f"{counts[s]} {s}" for s in ("proposed", "approved", "in progress",
                                                       "delivered", "rejected") if s in counts)
    client = display.esc(ctx.params.client.name)
    if rows.empty:
        return (f"The improvement register of **{client}** holds no initiative yet, so there is "
                f"nothing to rank or plan for {ctx.label}. "
                + ("The initiatives suggested by the data below are a place to start."
                   if len(ctx.suggestions) else
                   "Add initiatives to the register (one row each) and run the report again."))
    services = rows["service"].nunique()
    lines = [(f"The improvement register of **{client}** holds **{plural(len(rows), 'initiative')}"
             f"** across {plural(services, 'service')}: {by_status}.")]
    decided = rows["decision"].value_counts()
    low, blocked = decided.get("below threshold", 0), decided.get("blocked", 0)
    ranked = int(rows["rank"].notna().sum())
    lines.append(f"**{ranked} proposals clear the {settings.min_improvement:.0%} minimum viable "
                 f"improvement** on their KPI; {low} fall short of it"
                 + (f" and {blocked} wait for a rejected or filtered prerequisite." if blocked
                    else "."))
    new = rows.loc[rows["decision"] == "in plan"].sort_values("rank")
    lead = (f", led by {display.esc(new['id'].iloc[0])} "
            f"*{display.esc(_short(new['title'].iloc[0], 70))}*") if len(new) else ""
    lines.append(
        f"The plan for {ctx.label} uses **{plan.used_hours:,.0f} of the {plan.capacity:,.0f} "
        f"hours** ring-fenced for improvement ({settings.improvement_share:.0%} of "
        f"{settings.team_hours_per_quarter:,.0f} team hours): {plan.committed_hours:,.0f} h "
        f"finish work in progress and {plan.planned_hours:,.0f} h start "
        f"**{plural(len(new), 'new initiative')}**{lead}, ranked by "
        f"{ctx.model_label}.")
    out = rows.loc[rows["decision"] == "did not fit"].sort_values("rank")
    if len(out):
        top = out.iloc[0]
        lines.append(f"**{plural(len(out), 'ranked proposal')} did not fit** "
                     f"({out['effort_hours'].sum():,.0f} h); the highest ranked is "
                     f"{display.esc(top['id'])} *{display.esc(_short(top['title'], 70))}* "
                     f"(rank {int(top['rank'])}, {top['effort_hours']:,.0f} h).")
    lines.append(balance_sentence(ctx))
    lines.append(stability_sentence(ctx))
    if ctx.triggers_available:
        s = ctx.suggestions
        uncovered = int((s["covered_by"] == "").sum()) if len(s) else 0
        lines.append(f"The gap analysis raised improvement reviews on "
                     f"{plural(len(s), 'service KPI')}; **{uncovered} are not yet covered** by "
                     "an initiative of the register (see *Suggested by the data*).")
    return "\n\n".join(lines)


def balance_sentence(ctx: Prioritisation) -> str:
    planned = ctx.rows.loc[ctx.rows["plan_order"].notna()]
    quick = int((planned["quadrant"] == "quick win").sum())
    big = int((planned["quadrant"] == "transformational").sum())
    text = (f"The plan balances {plural(quick, 'quick win')} against "
            f"{plural(big, 'transformational initiative')}")
    if big == 0:
        return text + ": **no structural work** starts this quarter."
    if quick == 0:
        return text + ": **no quick win** shows progress early in the quarter."
    return text + "."


def stability_sentence(ctx: Prioritisation) -> str:
    sens = ctx.sensitivity
    n = len(sens.scenarios)
    if n == 0 or not sens.base_top:
        return "The ranking has too few initiatives or weights to test its stability."
    same = int(sens.scenarios["same_set"].sum())
    leader = sens.base_top[0]
    leads = int((sens.scenarios["leader"] == leader).sum())
    word = "stable" if same == n else "fairly stable" if same >= n / 2 else "sensitive"
    model = "" if ctx.params.prioritisation.model == "weighted" else " (weighted scoring)"
    return (f"The top {sens.top_n}{model} is **{word}**: it keeps the same initiatives in "
            f"{same} of {n} weight changes of ±{sens.step:.0%}, and "
            f"{display.esc(leader)} leads in {leads} of them.")
