"""SLA clocks: elapsed time between two instants on a 24x7 or business-hours calendar.

An SLA target (ITIL 4, service level management) runs either around the clock
or on the service's hours of support: a local working week, a time zone and a
list of public holidays, with the clock stopped while a ticket is paused (for
instance "awaiting user"). This package measures that time for whole columns at
once; nothing loops over tickets.

How it works: every business interval in the span of the data (one per range of
each open local day) is turned into real UTC instants, once per call
(:mod:`.clock`). The cumulative business time ``B(t)`` up to any instant is
then a binary search in that interval table plus the part of the interval ``t``
falls in, and the business time between two instants is ``B(end) - B(start)``.
Timestamps are never converted to local time, so a ticket's clock is exact to
the nanosecond and additive: ``elapsed(a, c) == elapsed(a, b) + elapsed(b, c)``.

Daylight-saving rule: business hours are local wall-clock times. A range opens
at the first moment the local clock shows its opening time and closes at the
first moment it shows its closing time; a time the clock skips (spring forward)
counts as the moment of the jump, and a time it shows twice (fall back) as the
first of them. So ``01:00-03:00`` on the day London springs forward is 1 hour of
real time and on the day it falls back 3 hours, and ``00:00-24:00`` every day
equals wall time whatever the zone. The changes are found from the zone's own
offsets, to the second (:mod:`.zones`), so shifts of 30 minutes (Lord Howe), 2
hours (Troll) or a whole day (Samoa, 2011), at any time of day, follow the same
rule. Ranges such as 08:00-18:00 are not touched by the changes, which happen
at night.

Modules: :mod:`.hours` (the calendar), :mod:`.zones` (wall time to UTC),
:mod:`.clock` (``B(t)``), :mod:`.tickets` (column checks), :mod:`.pauses`,
:mod:`.durations` (the public clocks) and :mod:`.compliance` (met or
breached, and agreement with the export's own flag).
"""

from csi_lib.sla.compliance import AGREEMENT_COLUMNS, agreement, compliance
from csi_lib.sla.durations import elapsed, paused, sla_clock
from csi_lib.sla.hours import WEEKDAYS, BusinessHours
from csi_lib.sla.pauses import PAUSE_COLUMNS

__all__ = [
    "AGREEMENT_COLUMNS",
    "PAUSE_COLUMNS",
    "WEEKDAYS",
    "BusinessHours",
    "agreement",
    "compliance",
    "elapsed",
    "paused",
    "sla_clock",
]
