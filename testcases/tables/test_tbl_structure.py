"""Table structures: sizes from the DUT's own dimensions, and the relations between dimension and data tables
(TS 104 001 Clause 5, Annexes A-B; Clauses 7-8 for the register, clock, TOU, load-profile and log content).

Sources (osgpct/requirements.yaml): OPG p.5-57 and MEP-DG p.38-240 as cited per test case; C12.19 per Aclara and
termineter where the guides are silent.
"""

from __future__ import annotations

import calendar

from osgp.app import bt, table_name
from osgp.tables import Severity, schema
from osgpct.dut import ERROR_CODES, READ_ONLY, READ_ONLY_ALL_KEYS, TABLE_REQUIREMENT, Dut, hexs, time_problems
from osgpct.testcase import testcase

_REGISTER_COUNTS = ("nbr_self_reads", "nbr_summations", "nbr_demands", "nbr_coin_values", "nbr_occur", "nbr_tiers",
                    "nbr_present_demands", "nbr_present_values")
_INTERVAL_FORMATS = {1: "inv_uint8_flag", 2: "inv_uint16_flag", 4: "inv_uint32_flag", 8: "inv_int8_flag",
                     16: "inv_int16_flag", 32: "inv_int32_flag", 64: "inv_ni_fmat1_flag", 128: "inv_ni_fmat2_flag"}


def utc_of(t) -> int:
    """Seconds since 1970 of a decoded LTIME_DATE/STIME_DATE (the table's own time scale)."""
    return calendar.timegm(t.to_datetime().timetuple())


def dut_now(dut: Dut) -> int:
    """The BT52 clock in UTC seconds (INCONC when BT52 holds no valid date: TC_TBL_CLK_BV_01 judges BT52)."""
    return dut.clock().utc


@testcase(
    id="TC_TBL_SIZE_CA_01",
    title="Every table BT00 lists has the size and layout its dimensions imply",
    purpose="Ensure that, when the tester reads every table BT00 lists (in parts when longer than one answer), each "
            "is as long as the dimensions the DUT itself declares imply (BT00, BT21, BT50, BT61, BT71, ET11, ET54) and "
            "every date/time field in it is in range",
    requirements=["REQ-TBL-003", "REQ-TBL-005", "REQ-TBL-007", "REQ-TBL-009", "REQ-TBL-012", "REQ-TBL-021",
                  "REQ-TBL-022", "REQ-TBL-023", "REQ-TBL-025", "REQ-TBL-028", "REQ-TBL-029", "REQ-TBL-030",
                  "REQ-TBL-032", "REQ-TBL-036", "REQ-TBL-038", "REQ-TBL-039", "REQ-TBL-040", "REQ-TBL-041",
                  "REQ-TBL-049", "REQ-TBL-050", "REQ-TBL-056", "REQ-TBL-057"],
    pixit=["max_apdu"],
    steps=[("Read BT00 and the dimension tables it lists", "they decode"),
           ("Read every listed table with a known layout and decode it with those dimensions",
            "each decodes at exactly its length (ET tables: their known fields at least)"),
           ("Check every date/time field", "each is in range (all-zero = not set)")],
)
def test_table_sizes(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annexes A-B (clause unknown); OPG p.10-57, MEP-DG p.52-240 per table (tbl §8);
    extended-table layouts rest on ASM-TBL-02, load-profile sets on ASM-TBL-03, logs on ASM-TBL-05."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        b = dut.bt00()
        tc.require((b.ni_format1, b.ni_format2) == (8, 8), f"BT00 NI_FORMAT1/NI_FORMAT2 are {b.ni_format1}/"
                   f"{b.ni_format2}, not 8 (INT32): this suite sizes NI_FMAT fields as INT32 only, so the table sizes "
                   "cannot be judged (REQ-TBL-004 reading 2, judged by TC_TBL_BT00_BV_02)")
        dut.dims()
    images = {}
    with tc.step(2):
        for tid in dut.listed_tables():
            try:
                schema(tid)
            except KeyError:
                tc.observe(f"{table_name(tid)}: no layout known to the suite")
                continue
            image = dut.read_image(tid)
            if image is None:
                continue
            if tid == bt(0) and len(image) != dut.size(bt(0)):
                tc.observe(f"BT00 is {len(image)} bytes, not header + C12.19 sets ({dut.size(bt(0))}): its bytes from "
                           "offset 19 are read as reserved (REQ-TBL-005 reading 2, MEP-DG:10139); not judged")
                continue
            value = dut.decode(tid, image)
            if value is not None:
                images[tid] = value
                notes = [str(i) for i in schema(tid).validate(value, dut.dims()) if i.severity >= Severity.WARNING]
                if notes:
                    tc.observe(f"{table_name(tid)}: " + "; ".join(notes[:4]))
        tc.observe("decoded: " + ", ".join(table_name(t) for t in images))
        unjudged = sorted({r for t, r in TABLE_REQUIREMENT.items() if r and t not in images})
        judged = sorted({TABLE_REQUIREMENT[t] for t in images if t in TABLE_REQUIREMENT})
        tc.observe("layout requirements judged here: " + ", ".join(judged))
        tc.observe("not exercised (table not listed in BT00): " + ", ".join(r for r in unjudged if r not in judged))
    with tc.step(3):
        for tid, value in images.items():
            problems = time_problems(value)
            tc.check(not problems, f"{table_name(tid)} date/time fields out of range: {'; '.join(problems[:4])} "
                     "(REQ-TBL-003)", req="REQ-TBL-003")


@testcase(
    id="TC_TBL_REG_BV_01",
    title="Register dimensions: BT21 within BT20, BT22 and BT23 sized by BT21",
    purpose="Ensure that, when the tester reads BT20-BT23, the DUT's BT20 and BT21 are 10 bytes each with no BT21 "
            "count above its BT20 maximum and no BT21 flag set whose BT20 flag is clear, BT22 is BT21.3 + BT21.4 + "
            "ceil(BT21.4/8) + 2 × BT21.5 bytes with every coincident association below BT21.4, and BT23 is as long "
            "as BT21 implies",
    requirements=["REQ-TBL-021", "REQ-TBL-022", "REQ-TBL-023"],
    steps=[("Read BT20 and BT21", "10 bytes each"),
           ("Compare BT21 with BT20", "counts ≤ maxima, flags ⊆ BT20 flags"),
           ("Read BT22", "length per BT21; associations < BT21.4"),
           ("Read BT23", "length per BT21")],
)
def test_register_dimensions(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex A (clause unknown); OPG p.20-21 maximum vs actual dimensions (tbl §8.6);
    OPG p.23 (tbl §8.6); OPG p.24-27 (tbl §8.6, §11.4 MF-01)."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        tc.require(dut.listed(bt(21)), "BT00 does not list BT21")
        values = {}
        for tid in (bt(20), bt(21)):
            if not dut.listed(tid):
                tc.observe(f"BT00 does not list {table_name(tid)}")
                continue
            r = dut.read(tid)
            if tc.check(r.ok, f"{table_name(tid)} read answered {r.describe()} (REQ-TBL-021)", req="REQ-TBL-021") and \
                    tc.check(len(r.data) == 10, f"{table_name(tid)} is {len(r.data)} bytes, not 10 (REQ-TBL-021)",
                             req="REQ-TBL-021"):
                values[tid] = dut.decode(tid, r.data)
        bt21 = values.get(bt(21))
        tc.require(bt21 is not None, "BT21 could not be decoded")
    with tc.step(2):
        bt20 = values.get(bt(20))
        if bt20 is not None:
            for name in _REGISTER_COUNTS:
                tc.check(bt21[name] <= bt20[name], f"BT21.{name} = {bt21[name]} exceeds the BT20 maximum "
                         f"{bt20[name]} (REQ-TBL-021)", req="REQ-TBL-021")
            for name, v in bt21.items():
                if isinstance(v, bool) and v:
                    tc.check(bt20[name], f"BT21 flag {name} is set but BT20 (the maximum) has it clear (REQ-TBL-021)",
                             req="REQ-TBL-021")
            tc.check(bt21.self_read_demand_reset & ~bt20.self_read_demand_reset == 0,
                     f"BT21 SELF_READ_DEMAND_RESET {bt21.self_read_demand_reset} beyond BT20's "
                     f"{bt20.self_read_demand_reset} (REQ-TBL-021)", req="REQ-TBL-021")
    with tc.step(3):
        if dut.listed(bt(22)):
            r = dut.read(bt(22))
            tc.check(r.ok, f"BT22 read answered {r.describe()} (REQ-TBL-022)", stop=True, req="REQ-TBL-022")
            nd = bt21.nbr_demands
            want = bt21.nbr_summations + nd + (nd + 7) // 8 + 2 * bt21.nbr_coin_values
            tc.check(len(r.data) == want, f"BT22 is {len(r.data)} bytes; BT21 gives {bt21.nbr_summations} + {nd} + "
                     f"{(nd + 7) // 8} + 2×{bt21.nbr_coin_values} = {want} (REQ-TBL-022)", req="REQ-TBL-022")
            bt22 = dut.decode(bt(22), r.data, requirement="REQ-TBL-022")
            if bt22 is not None:
                bad = [a for a in bt22.coin_demand_assoc if a >= nd]
                tc.check(not bad, f"BT22 coincident-to-demand associations {bad} are not below BT21.4 = {nd} "
                         "(REQ-TBL-022)", req="REQ-TBL-022")
        else:
            tc.observe("BT00 does not list BT22")
    with tc.step(4):
        if dut.listed(bt(23)):
            image = dut.read_image(bt(23))
            tc.require(image is not None, "BT23 could not be read")
            want = dut.size(bt(23))
            tc.check(len(image) == want, f"BT23 is {len(image)} bytes; BT21 implies {want} (REQ-TBL-023)",
                     req="REQ-TBL-023")
        else:
            tc.observe("BT00 does not list BT23")


@testcase(
    id="TC_TBL_REG_TI_01",
    title="The forward active energy summation never decreases",
    purpose="Ensure that, when the tester reads BT23's forward active energy (total block, summation 0) twice, a "
            "minute apart, the second value is not below the first",
    pixit=["test_timeout_s"],
    requirements=["REQ-TBL-024"],
    steps=[("Read BT23 tot_data_block.summations[0]", "0x00"),
           ("Let 60 s of DUT time pass and read it again", "not smaller than before")],
)
def test_energy_monotonic_dut_time(tc, session, plan):
    """Source: TS 104 001 Clauses 7-8 (clause unknown); OPG p.24 registers never reset, NES summation order
    (tbl §8.6, §9.1)."""
    dut = Dut(tc, session, plan)
    path = "tot_data_block.summations[0]"
    with tc.step(1):
        tc.require(dut.listed(bt(23)), "BT00 does not list BT23")
        tc.require(dut.dims().bt21.nbr_summations >= 1, "BT21 declares no summation")
        a = dut.read_field(bt(23), path)
    with tc.step(2):
        dut.wait(60, "energy accumulates between the two BT23 readings")
        b = dut.read_field(bt(23), path)
        tc.observe(f"forward active energy {a} then {b}")
        tc.check(b >= a, f"BT23 forward active energy went down from {a} to {b} within a minute (REQ-TBL-024)")


@testcase(
    id="TC_TBL_CLK_BV_01",
    title="BT52 is a 7-byte UTC clock with a consistent qualifier",
    purpose="Ensure that, when the tester reads BT52, the DUT returns 7 bytes: an LTIME_DATE in range and a qualifier "
            "whose day of week matches the date, with GMT set and time-zone-applied and DST-applied clear",
    requirements=["REQ-TBL-029"],
    pics="PICS_CLOCK",
    steps=[("Read BT52", "0x00, 7 bytes"),
           ("Check date, weekday and flags", "date/time in range; weekday matches; GMT 1, TZ and DST applied 0")],
)
def test_bt52_clock(tc, session, plan):
    """Source: TS 104 001 Clauses 7-8 (clause unknown); MEP-DG p.222 (tbl §8.7)."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        tc.require(dut.listed(bt(52)), "BT00 does not list BT52 although PICS_CLOCK is declared")
        r = dut.read(bt(52))
        tc.check(r.ok, f"BT52 read answered {r.describe()} (REQ-TBL-029)", stop=True)
        tc.check(len(r.data) == 7, f"BT52 is {len(r.data)} bytes, not 7 (REQ-TBL-029)", stop=True)
        v = dut.decode(bt(52), r.data, requirement="REQ-TBL-029")
        tc.require(v is not None, "BT52 does not decode")
    with tc.step(2):
        t = v.clock_calendar
        problems = t.problems()
        tc.check(not problems and not t.is_zero, f"BT52 time {hexs(r.data[:6])}: {'; '.join(problems) or 'not set'} "
                 "(REQ-TBL-029)", stop=True)
        weekday = (t.to_datetime().weekday() + 1) % 7  # 0 = Sunday
        tc.check(v.day_of_week == weekday, f"BT52 day of week {v.day_of_week} but {t.to_datetime():%Y-%m-%d} is day "
                 f"{weekday} (0 = Sunday) (REQ-TBL-029)")
        tc.check(v.gmt_flag and not v.tm_zn_applied_flag and not v.dst_applied_flag,
                 f"BT52 qualifier GMT {int(v.gmt_flag)}, TZ applied {int(v.tm_zn_applied_flag)}, DST applied "
                 f"{int(v.dst_applied_flag)}; a UTC clock has 1, 0, 0 (REQ-TBL-029)")


def _tier_now(bt54, bt50, day_of_week: int, season: int, hour: int, minute: int) -> tuple[set[int], int | None]:
    """(tiers the calendar may have in force, minutes until the next switch of any of their schedules), or
    (empty, None) if no schedule has a switch. The normal day schedule of the season's day type is one candidate;
    each special (holiday) schedule of the season is another, since a BT54 date record may select it for today
    (MEP-DG:11706-11725, 11828-11830); this suite does not evaluate the date records themselves."""
    days = 7 if bt50.separate_weekdays_flag else 3
    idx = day_of_week if bt50.separate_weekdays_flag else {6: 0, 0: 1}.get(day_of_week, 2)
    if season >= len(bt54.season_schedules):
        return set(), None
    ids = bt54.season_schedules[season].daily_schedule_ids
    candidates = [ids[i] for i in [idx, *range(days, days + bt50.nbr_special_sched)] if i < len(ids)]
    now = hour * 60 + minute
    tiers, nexts = set(), []
    for sched in dict.fromkeys(candidates):
        switches = sorted((s.switch_hour * 60 + s.switch_min, s.new_tier) for s in bt54.tier_switches
                          if s.day_sch_num == sched)
        if not switches:
            continue
        tier = switches[-1][1]  # before the first switch of the day, the last one of the previous day holds
        for at, t in switches:
            if at <= now:
                tier = t
        tiers.add(tier)
        nexts.append(min(((at - now) % 1440 or 1440) for at, _ in switches))
    return tiers, (min(nexts) if nexts else None)


@testcase(
    id="TC_TBL_TOU_BV_01",
    title="Local clock, time offset, calendar size and current tier",
    purpose="Ensure that, when the tester reads BT50, BT52-BT55, the DUT's BT55 is 9 bytes of local time (BT52 plus "
            "the BT53 offset) with time-zone-applied and DST-applied set, the BT53 offset is within −720..+840 min, "
            "BT54 is CALENDAR_TBL_SIZE bytes, and the BT55 current tier is the tier of the BT54 switch in force, "
            "changing at the next switch when that is near",
    pixit=["test_timeout_s"],
    requirements=["REQ-TBL-030", "REQ-TBL-031", "REQ-TBL-032", "REQ-TBL-034"],
    pics="PICS_CLOCK",
    steps=[("Read BT52, BT55, BT52", "BT55 9 bytes; TZ applied and DST applied set"),
           ("Read BT53", "offset within −720..+840; BT55 − BT52 = offset (+ DST amount when DST is on)"),
           ("Read BT50 and BT54", "BT54 length = CALENDAR_TBL_SIZE = 3×(dates + switches) + seasons × day types + 4"),
           ("Compute the tier in force from BT54 for the BT55 local time (normal day schedule, or any special "
            "schedule of the season: a holiday date may select one)", "BT55 CURR_TIER equals one of them"),
           ("If the next switch is within 20 min: wait past it and read BT55", "the new tier")],
)
def test_tou_state_dut_time(tc, session, plan):
    """Source: TS 104 001 Clauses 7-8 (clause unknown); MEP-DG p.220-229 (tbl §8.7, §9.5, §11.4 MF-04, MF-05)."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        tc.require(dut.listed(bt(55)) and dut.listed(bt(52)), "BT00 does not list BT52 and BT55 (no TOU clock)")
        a = dut.read(bt(52))
        r = dut.read(bt(55))
        b = dut.read(bt(52))
        tc.require(a.ok and b.ok, f"BT52 reads answered {a.describe()} / {b.describe()}")
        tc.check(r.ok, f"BT55 read answered {r.describe()} (REQ-TBL-030)", stop=True, req="REQ-TBL-030")
        tc.check(len(r.data) == 9, f"BT55 is {len(r.data)} bytes, not 9 (REQ-TBL-030)", stop=True, req="REQ-TBL-030")
        bt55 = dut.decode(bt(55), r.data, requirement="REQ-TBL-030")
        t0, t1 = dut.decode(bt(52), a.data), dut.decode(bt(52), b.data)
        tc.require(bt55 is not None and t0 is not None and t1 is not None, "BT52/BT55 do not decode")
        tc.check(bt55.tm_zn_applied_flag and bt55.dst_applied_flag, f"BT55 qualifier TZ applied "
                 f"{int(bt55.tm_zn_applied_flag)}, DST applied {int(bt55.dst_applied_flag)}; a local clock has both "
                 "set (REQ-TBL-030)", req="REQ-TBL-030")
        tc.check(not bt55.clock_calendar.problems(), f"BT55 time: {bt55.clock_calendar.problems()} (REQ-TBL-030)",
                 req="REQ-TBL-030")
    with tc.step(2):
        if dut.listed(bt(53)):
            r53 = dut.read(bt(53))
            tc.require(r53.ok, f"BT53 read answered {r53.describe()}")
            bt53 = dut.decode(bt(53), r53.data)
            tc.require(bt53 is not None, "BT53 does not decode")
            tz = bt53.time_zone_offset
            tc.check(-720 <= tz <= 840, f"BT53 time-zone offset {tz} min outside −720..+840 (REQ-TBL-031)",
                     req="REQ-TBL-031")
            shift = tz * 60 + (bt53.dst_time_amt * 60 if bt55.dst_flag else 0)
            bad = [t.clock_calendar for t in (bt55, t0, t1) if t.clock_calendar.problems() or t.clock_calendar.is_zero]
            tc.require(not bad, f"BT52/BT55 hold no valid date ({', '.join(map(str, bad))}): the offset cannot be "
                       "compared (the BT55 time is judged in step 1, BT52 by TC_TBL_CLK_BV_01)")
            local = utc_of(bt55.clock_calendar)
            lo, hi = utc_of(t0.clock_calendar) + shift - 2, utc_of(t1.clock_calendar) + shift + 2
            tc.check(lo <= local <= hi, f"BT55 local time {bt55.clock_calendar.to_datetime()} is not BT52 UTC "
                     f"{t0.clock_calendar.to_datetime()} shifted by the BT53 offset ({shift} s) (REQ-TBL-030)",
                     req="REQ-TBL-030")
        else:
            tc.observe("BT00 does not list BT53: offset checks not exercised")
    with tc.step(3):
        tc.require(dut.listed(bt(54)) and dut.listed(bt(50)), "BT00 does not list BT50 and BT54")
        bt50 = dut.dims().bt50
        image = dut.read_image(bt(54))
        tc.require(image is not None, "BT54 could not be read")
        tc.check(len(image) == bt50.calendar_tbl_size, f"BT54 is {len(image)} bytes; BT50 CALENDAR_TBL_SIZE is "
                 f"{bt50.calendar_tbl_size} (REQ-TBL-032)", req="REQ-TBL-032")
        days = (7 if bt50.separate_weekdays_flag else 3) + bt50.nbr_special_sched
        want = 3 * (bt50.nbr_non_recurr_dates + bt50.nbr_recurr_dates + bt50.nbr_tier_switches) \
            + days * bt50.nbr_seasons + 4
        tc.check(bt50.calendar_tbl_size == want, f"BT50 CALENDAR_TBL_SIZE {bt50.calendar_tbl_size}, but its counts "
                 f"give {want} (REQ-TBL-032)", req="REQ-TBL-032")
        bt54 = dut.decode(bt(54), image, requirement="REQ-TBL-032")
        tc.require(bt54 is not None, "BT54 does not decode")
        # REQ-TBL-033 is withdrawn: 'Meter requires tier switches in BT54 be pre-sorted when received'
        # (MEP-DG:11425) is a duty of the host, so the order of the stored switches is only noted.
        unsorted = [sch for sch in sorted({s.day_sch_num for s in bt54.tier_switches})
                    if (lambda t: t != sorted(t))([s.switch_hour * 60 + s.switch_min for s in bt54.tier_switches
                                                   if s.day_sch_num == sch])]
        tc.observe(f"BT50 SORT_TIER_SWITCHES {int(bt50.sort_tier_switches_flag)}; BT54 day schedules with unsorted "
                   f"switches: {unsorted or 'none'} (not judged: the host pre-sorts, MEP-DG:11425)")
    with tc.step(4):
        c = bt55.clock_calendar
        if bt55.tier_drive != 0:
            tc.observe(f"BT55 TIER_DRIVE {bt55.tier_drive}: the tier is not calendar-driven now; not compared")
            return
        tiers, nxt = _tier_now(bt54, bt50, bt55.day_of_week, bt55.season, c.hour, c.minute)
        tc.require(tiers, "BT54 has no tier switch for the current day schedule")
        if nxt <= 1:  # at a switch minute: the two readings may straddle it
            dut.wait(90, "past the tier switch minute before comparing")
            r = dut.read(bt(55))
            tc.require(r.ok, f"BT55 read answered {r.describe()}")
            bt55 = dut.decode(bt(55), r.data)
            tc.require(bt55 is not None, "BT55 does not decode")
            c = bt55.clock_calendar
            tiers, nxt = _tier_now(bt54, bt50, bt55.day_of_week, bt55.season, c.hour, c.minute)
        tc.check(bt55.curr_tier in tiers, f"BT55 current tier {bt55.curr_tier} at local {c.hour:02d}:{c.minute:02d}, "
                 f"but the BT54 switches in force give tier {'/'.join(map(str, sorted(tiers)))} (REQ-TBL-034)",
                 req="REQ-TBL-034")
    with tc.step(5):
        if nxt > 20:
            tc.observe(f"next tier switch in {nxt} min: the change at the switch is not awaited")
            return
        dut.wait(nxt * 60 + 30, "past the next BT54 tier switch")
        r = dut.read(bt(55))
        tc.require(r.ok, f"BT55 read answered {r.describe()}")
        bt55 = dut.decode(bt(55), r.data)
        tc.require(bt55 is not None, "BT55 does not decode")
        c = bt55.clock_calendar
        tiers, _ = _tier_now(bt54, bt50, bt55.day_of_week, bt55.season, c.hour, c.minute)
        tc.check(bt55.curr_tier in tiers, f"after the switch time BT55 current tier is {bt55.curr_tier}, the "
                 f"calendar gives {'/'.join(map(str, sorted(tiers)))} (REQ-TBL-034)", req="REQ-TBL-034")


def _stored_offset(dut: Dut, tc) -> int:
    """The BT53 time-zone offset the DUT holds now (INCONC when BT53 cannot be read back)."""
    r = dut.read(bt(53))
    tc.require(r.ok, f"BT53 read-back answered {r.describe()}")
    v = dut.decode(bt(53), r.data, requirement="REQ-TBL-031")
    tc.require(v is not None, "BT53 does not decode")
    return v.time_zone_offset


@testcase(
    id="TC_TBL_TOU_BI_01",
    title="A BT53 time-zone offset outside −720..+840 min is not stored",
    purpose="Ensure that, when the tester writes BT53 with a time-zone offset of +900 or −800 minutes, the DUT "
            "enforces the range: it refuses the write, or clamps the offset, or keeps its previous value, so that "
            "the stored offset stays within −720..+840",
    requirements=["REQ-TBL-031"],
    pics="PICS_CLOCK",
    initial="BT00 lists BT53 as written; restored if a write lands.",
    steps=[("Read BT53", "0x00; offset in range"),
           ("Full write with offset +900, then −800; read BT53 after each", "a refusal, or 0x00; the stored offset "
            "within −720..+840 either way"),
           ("Read BT53", "offset within −720..+840")],
)
def test_bt53_range(tc, session, plan):
    """Source: TS 104 001 Clauses 7-8 (clause unknown); MEP-DG:11540-11542 'Range of -12 to +14 hours enforced in
    firmware' (tbl §8.7): REQ-TBL-031 is ambiguous (refuse, clamp, or keep the old value); all three keep the stored
    offset in range, which is what is judged."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        tc.require(dut.listed(bt(53)) and dut.writable(bt(53)), "BT00 does not list BT53 as written")
        r = dut.read(bt(53))
        tc.require(r.ok, f"BT53 read answered {r.describe()}")
        original = r.data
        value = dut.decode(bt(53), original, requirement="REQ-TBL-031")
        tc.require(value is not None, "BT53 does not decode")
    with dut.restoring(bt(53), original):
        with tc.step(2):
            for tz in (900, -800):
                image = schema(bt(53)).encode({**value, "time_zone_offset": tz}, dut.dims())
                w = dut.write(bt(53), image)
                stored = _stored_offset(dut, tc)
                how = "refused" if w.code in ERROR_CODES else "clamped" if stored in (-720, 840) else "kept"
                tc.observe(f"BT53 write with offset {tz} min answered {w.describe()}; stored offset {stored} min "
                           f"({how})")
                tc.check(-720 <= stored <= 840, f"after a BT53 write with time-zone offset {tz} min (answered "
                         f"{w.describe()}) BT53 holds {stored} min, outside the −720..+840 the firmware enforces "
                         "(REQ-TBL-031)")
        with tc.step(3):
            stored = _stored_offset(dut, tc)
            tc.check(-720 <= stored <= 840, f"BT53 holds time-zone offset {stored} min after the writes, outside "
                     "−720..+840 (REQ-TBL-031)")


@testcase(
    id="TC_TBL_LP_BV_01",
    title="Load-profile dimension, control and status tables agree",
    purpose="Ensure that, when the tester reads BT60-BT64, the DUT's BT60 and BT61 are 7 + 6 × N bytes (N data sets "
            "flagged in BT00), no BT61 count exceeds BT60's, BT61 flags 10 and 11 are set, BT62 declares a format BT61 "
            "supports, BT63 counters stay within BT61, and each data set table is as long as BT61 implies",
    requirements=["REQ-TBL-036", "REQ-TBL-037", "REQ-TBL-038", "REQ-TBL-039", "REQ-TBL-040"],
    pics="PICS_LOAD_PROFILE",
    steps=[("Read BT60 and BT61", "7 + 6N bytes each; BT61 ≤ BT60; BT61 flags 10, 11 set"),
           ("Read BT62", "per set a format code BT61 marks supported"),
           ("Read BT63", "13 bytes per set; valid blocks ≤ blocks; last element < blocks; valid intervals ≤ "
            "intervals per block; unread ≤ valid"),
           ("Read each data set table (BT64..) in parts", "decodes at the size BT61 implies")],
)
def test_load_profile_tables(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex A (clause unknown); OPG p.31-35 (tbl §8.8) [READ]; data-set count
    [INFERRED, ASM-TBL-03]; interval format [ASM-TBL-08]."""
    dut = Dut(tc, session, plan)
    dims = dut.dims()
    n = dims.lp_sets
    with tc.step(1):
        tc.require(dut.listed(bt(61)), "BT00 does not list BT61 although PICS_LOAD_PROFILE is declared")
        tc.observe(f"{n} load-profile data set(s) flagged in BT00 (BT64..)")
        got = {}
        for tid in (bt(60), bt(61)):
            if not dut.listed(tid):
                continue
            r = dut.read(tid)
            if tc.check(r.ok, f"{table_name(tid)} read answered {r.describe()} (REQ-TBL-036)", req="REQ-TBL-036"):
                tc.check(len(r.data) == 7 + 6 * n, f"{table_name(tid)} is {len(r.data)} bytes; 7 + 6 × {n} data sets "
                         f"= {7 + 6 * n} (REQ-TBL-036, inferred: set count from BT00, ASM-TBL-03)", req="REQ-TBL-036")
                got[tid] = dut.decode(tid, r.data, requirement="REQ-TBL-036")
        bt61 = got.get(bt(61))
        tc.require(bt61 is not None, "BT61 does not decode")
        tc.check(bt61.extended_int_status_flag and bt61.simple_int_status_flag, "BT61 flag bits 10/11 (extended and "
                 f"simple interval status) are {int(bt61.extended_int_status_flag)}/{int(bt61.simple_int_status_flag)}"
                 "; both must be set (REQ-TBL-037)", req="REQ-TBL-037")
        bt60 = got.get(bt(60))
        if bt60 is not None:
            tc.check(bt61.lp_memory_len <= bt60.lp_memory_len, f"BT61 LP_MEMORY_LEN {bt61.lp_memory_len} exceeds "
                     f"BT60's {bt60.lp_memory_len} (REQ-TBL-037)", req="REQ-TBL-037")
            for i, (s61, s60) in enumerate(zip(bt61.sets, bt60.sets, strict=False)):
                for k in ("nbr_blks", "nbr_blk_ints", "nbr_chns", "max_int_time"):
                    tc.check(s61[k] <= s60[k], f"BT61 set {i + 1} {k.upper()} {s61[k]} exceeds BT60's {s60[k]} "
                             "(REQ-TBL-037)", req="REQ-TBL-037")
    with tc.step(2):
        if dut.listed(bt(62)):
            image = dut.read_image(bt(62))
            bt62 = None if image is None else dut.decode(bt(62), image, requirement="REQ-TBL-038")
            for i, s in enumerate(bt62.sets if bt62 else []):
                flag = _INTERVAL_FORMATS.get(s.int_fmt_cde)
                tc.check(flag is not None and bt61[flag], f"BT62 set {i + 1} INT_FMT_CDE {s.int_fmt_cde} is not a "
                         "format BT61 declares supported (REQ-TBL-038, inferred: C12.19 format codes)",
                         req="REQ-TBL-038")
    with tc.step(3):
        if dut.listed(bt(63)):
            r = dut.read(bt(63))
            tc.check(r.ok, f"BT63 read answered {r.describe()} (REQ-TBL-039)", stop=True, req="REQ-TBL-039")
            tc.check(len(r.data) == 13 * n, f"BT63 is {len(r.data)} bytes; 13 × {n} sets = {13 * n} (REQ-TBL-039)",
                     req="REQ-TBL-039")
            bt63 = dut.decode(bt(63), r.data, requirement="REQ-TBL-039")
            for i, (st, s61) in enumerate(zip(bt63.sets if bt63 else [], bt61.sets, strict=False)):
                where = f"BT63 set {i + 1}"
                tc.check(st.nbr_valid_blocks <= s61.nbr_blks, f"{where} valid blocks {st.nbr_valid_blocks} > BT61 "
                         f"blocks {s61.nbr_blks} (REQ-TBL-039)", req="REQ-TBL-039")
                tc.check(st.last_block_element < max(s61.nbr_blks, 1), f"{where} last block element "
                         f"{st.last_block_element} ≥ BT61 blocks {s61.nbr_blks} (REQ-TBL-039)", req="REQ-TBL-039")
                tc.check(st.nbr_valid_int <= s61.nbr_blk_ints, f"{where} valid intervals {st.nbr_valid_int} > "
                         f"intervals per block {s61.nbr_blk_ints} (REQ-TBL-039)", req="REQ-TBL-039")
                tc.check(st.nbr_unread_blocks <= st.nbr_valid_blocks, f"{where} unread blocks "
                         f"{st.nbr_unread_blocks} > valid blocks {st.nbr_valid_blocks} (REQ-TBL-039)",
                         req="REQ-TBL-039")
    with tc.step(4):
        for i in range(n):
            tid = bt(64 + i)
            s61 = bt61.sets[i]
            ch, ints = s61.nbr_chns, s61.nbr_blk_ints
            block = 5 + (4 * ch if bt61.blk_end_read_flag else 0) + (ints + 7) // 8 + ints * (ch // 2 + 1 + 4 * ch)
            want = s61.nbr_blks * block
            tc.check(dut.size(tid) == want, f"{table_name(tid)} layout size {dut.size(tid)} differs from BT61's "
                     f"{s61.nbr_blks} × {block} = {want} (REQ-TBL-040)", req="REQ-TBL-040")
            r = dut.read(tid)
            if r.ok:
                tc.check(len(r.data) == want, f"{table_name(tid)} is {len(r.data)} bytes; BT61 implies {want} "
                         "(REQ-TBL-040, rests on ASM-TBL-08)", req="REQ-TBL-040")
            else:
                tc.observe(f"{table_name(tid)} ({want} bytes) full read answered {r.describe()}; read in parts")
                image = dut.read_span(tid, 0, want)
                if image is not None:
                    dut.decode(tid, image, requirement="REQ-TBL-040")


@testcase(
    id="TC_TBL_LP_TI_01",
    title="An interval end records one load-profile interval",
    purpose="Ensure that, when an interval of an active load-profile data set ends, the DUT records exactly one "
            "interval: BT63's valid-interval count (or block) advances by one and the interval's simple-status bit and "
            "the block end time are set in BT64",
    pixit=["test_timeout_s"],
    requirements=["REQ-TBL-042"],
    pics="PICS_LOAD_PROFILE and PICS_CLOCK",
    steps=[("Read BT61 (interval length), BT63 and BT52", "an active data set"),
           ("Wait until 30 s after the next interval end", "-"),
           ("Read BT63", "one more valid interval in the same block, or a new block with its first interval"),
           ("Read the newest block's end time and simple status", "end time = that interval end; its bit set")],
)
def test_interval_recorded_dut_time(tc, session, plan):
    """Source: TS 104 001 Clauses 7-8 (clause unknown); OPG p.30-38 (tbl §9.2, §11.5 LP-01)."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        tc.require(all(dut.listed(t) for t in (bt(61), bt(63), bt(64), bt(52))), "BT00 does not list BT52, BT61, "
                   "BT63 and BT64")
        dut.require_clock_runs()  # intervals follow the clock: TC_MGT_CLK_TI_01 judges a clock that stands still
        s61 = dut.dims().bt61.sets[0]
        minutes = s61.max_int_time
        tc.require(1 <= minutes <= 60, f"BT61 MAX_INT_TIME {minutes} is not an interval length this case can wait")
        st0 = dut.read_field(bt(63), "sets[0]")
        tc.require(st0.active_mode_flag, "BT63 data set 1 is not active")
        now = dut_now(dut)
    with tc.step(2):
        end = (now // (60 * minutes) + 1) * 60 * minutes
        dut.wait(end - now + 30, f"until 30 s after the interval end at {end} (UTC s)")
    with tc.step(3):
        st1 = dut.read_field(bt(63), "sets[0]")
        tc.observe(f"BT63 before: block seq {st0.last_block_seq_nbr}, element {st0.last_block_element}, valid "
                   f"intervals {st0.nbr_valid_int}; after: {st1.last_block_seq_nbr}, {st1.last_block_element}, "
                   f"{st1.nbr_valid_int}")
        if st1.last_block_seq_nbr == st0.last_block_seq_nbr:
            tc.check(st1.nbr_valid_int == st0.nbr_valid_int + 1, f"one interval ended but BT63 valid intervals went "
                     f"from {st0.nbr_valid_int} to {st1.nbr_valid_int} in the same block (REQ-TBL-042)")
        else:
            tc.check((st1.last_block_seq_nbr - st0.last_block_seq_nbr) % 2**32 == 1 and st1.nbr_valid_int >= 1,
                     f"one interval ended but BT63 went from block {st0.last_block_seq_nbr} to "
                     f"{st1.last_block_seq_nbr} with {st1.nbr_valid_int} valid intervals (REQ-TBL-042)")
    with tc.step(4):
        e, k = st1.last_block_element, st1.nbr_valid_int - 1
        tc.require(0 <= k < s61.nbr_blk_ints, f"BT63 valid intervals {st1.nbr_valid_int} leave no interval to look at")
        t = dut.read_field(bt(64), f"blocks[{e}].end_time")
        status = dut.read_field(bt(64), f"blocks[{e}].simple_int_status")
        bad = t.problems()
        tc.check(not t.is_zero and not bad and utc_of(t) == end, f"BT64 block {e} end time {t} "
                 f"{'(' + '; '.join(bad) + ') ' if bad else ''}is not the interval end {end} UTC s (REQ-TBL-042)")
        tc.check(k in status, f"BT64 block {e} simple status does not mark interval {k} as recorded (REQ-TBL-042)")


@testcase(
    id="TC_TBL_LOG_BV_01",
    title="History log dimensions and entries are consistent",
    purpose="Ensure that, when the tester reads BT70, BT71 and BT74, the DUT's BT70 and BT71 are 9 bytes with BT71 "
            "within BT70, BT74 is 11 + BT71.5 × (12 + BT71.3) bytes with its counters in range, and its valid entries "
            "carry UTC times in range and sequence numbers that increase from the oldest to the newest (gaps allowed, "
            "OPG:2600-2604), the newest being the low 16 bits of LAST_ENTRY_SEQ_NBR",
    requirements=["REQ-TBL-049", "REQ-TBL-050", "REQ-TBL-051"],
    pics="PICS_EVENT_LOG",
    steps=[("Read BT70 and BT71", "9 bytes each; BT71 ≤ BT70"),
           ("Read BT74", "length per BT71; valid ≤ entries; last element < entries; unread ≤ valid"),
           ("Walk the valid entries back from the last one", "times in range and not after BT52; the newest sequence "
            "number = LAST_ENTRY_SEQ_NBR (low 16 bits), each older one smaller (mod 2^16; gaps allowed)")],
)
def test_history_log(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex A (clause unknown); OPG p.50-53 (tbl §8.10, §11.5 EV-01); layouts rest
    on ASM-TBL-05."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        tc.require(dut.listed(bt(71)) and dut.listed(bt(74)), "BT00 does not list BT71 and BT74")
        got = {}
        for tid in (bt(70), bt(71)):
            if not dut.listed(tid):
                continue
            r = dut.read(tid)
            if tc.check(r.ok, f"{table_name(tid)} read answered {r.describe()} (REQ-TBL-049)", req="REQ-TBL-049") and \
                    tc.check(len(r.data) == 9, f"{table_name(tid)} is {len(r.data)} bytes, not 9 (REQ-TBL-049)",
                             req="REQ-TBL-049"):
                got[tid] = dut.decode(tid, r.data, requirement="REQ-TBL-049")
        bt71 = got.get(bt(71))
        tc.require(bt71 is not None, "BT71 does not decode")
        if got.get(bt(70)) is not None:
            bt70 = got[bt(70)]
            for k in ("nbr_std_events", "nbr_mfg_events", "hist_data_length", "event_data_length",
                      "nbr_history_entries", "nbr_event_entries"):
                tc.check(bt71[k] <= bt70[k], f"BT71.{k} = {bt71[k]} exceeds BT70's {bt70[k]} (REQ-TBL-049)",
                         req="REQ-TBL-049")
    with tc.step(2):
        n = bt71.nbr_history_entries
        image = dut.read_image(bt(74))
        tc.require(image is not None, "BT74 could not be read")
        want = 11 + n * (12 + bt71.hist_data_length)
        if (bt71.hist_date_time_flag, bt71.hist_seq_nbr_flag, bt71.event_number_flag) == (True, True, False):
            tc.check(len(image) == want, f"BT74 is {len(image)} bytes; 11 + {n} × (12 + {bt71.hist_data_length}) = "
                     f"{want} (REQ-TBL-050)", req="REQ-TBL-050")
        else:
            tc.observe("BT71 entry flags differ from the OSGP layout (time + sequence number): length from the layout")
        log = dut.decode(bt(74), image, requirement="REQ-TBL-050")
        tc.require(log is not None, "BT74 does not decode")
        tc.check(log.nbr_valid_entries <= n, f"BT74 valid entries {log.nbr_valid_entries} > {n} (REQ-TBL-050)",
                 req="REQ-TBL-050")
        tc.check(n == 0 or log.last_entry_element < n, f"BT74 last entry element {log.last_entry_element} ≥ {n} "
                 "(REQ-TBL-050)", req="REQ-TBL-050")
        tc.check(log.nbr_unread_entries <= log.nbr_valid_entries, f"BT74 unread entries {log.nbr_unread_entries} > "
                 f"valid entries {log.nbr_valid_entries} (REQ-TBL-050)", req="REQ-TBL-050")
    with tc.step(3):
        now = dut_now(dut) if dut.listed(bt(52)) else None
        valid = min(log.nbr_valid_entries, n)
        want_seq = log.last_entry_seq_nbr
        newer, span = None, 0  # sequence number of the entry walked before (one newer), total distance walked
        for k in range(valid):
            i = (log.last_entry_element - k) % n
            e = log.entries[i]
            if "time" in e:
                p = e.time.problems()
                tc.check(not p and not e.time.is_zero, f"BT74 entry {i}: time {e.time} {p or 'not set'} "
                         "(REQ-TBL-051)", req="REQ-TBL-051")
                if not p and not e.time.is_zero and now is not None:
                    tc.check(utc_of(e.time) <= now + 60, f"BT74 entry {i} is dated {e.time}, after the BT52 clock "
                             "(REQ-TBL-051: UTC)", req="REQ-TBL-051")
            if "seq_nbr" in e:
                # The numbering is shared with ET79, "there may be gaps" (OPG:2600-2604): the newest entry carries the
                # low 16 bits of LAST_ENTRY_SEQ_NBR (OPG:2593-2595), each older one a smaller number (mod 2^16).
                if newer is None:
                    tc.check(e.seq_nbr == want_seq & 0xFFFF, f"the newest BT74 entry ({i}) has sequence number "
                             f"{e.seq_nbr}, not the low 16 bits of LAST_ENTRY_SEQ_NBR {want_seq} "
                             f"({want_seq & 0xFFFF}) (REQ-TBL-051)", req="REQ-TBL-051")
                else:
                    step = (newer - e.seq_nbr) & 0xFFFF
                    span += step
                    tc.check(step >= 1 and span < 0x10000, f"BT74 entry {i} (the {k + 1}. newest) has sequence number "
                             f"{e.seq_nbr}, not below the {newer} of the entry logged after it (mod 2^16) "
                             "(REQ-TBL-051)", req="REQ-TBL-051")
                newer = e.seq_nbr
        tc.observe(f"{valid} valid entries walked, last sequence number {want_seq}")


@testcase(
    id="TC_TBL_LOG_BV_02",
    title="An event caused over power line is logged with user id 0xFFFE and the next sequence number",
    purpose="Ensure that, when the tester causes a loggable event by an OSGP request (a table write), the DUT logs it "
            "in BT74 with user id 0xFFFE and LAST_ENTRY_SEQ_NBR is the sequence number of the newest new entry (the "
            "new entries' numbers increasing; numbers taken by ET79 events leave gaps)",
    requirements=["REQ-TBL-052", "REQ-TBL-053"],
    pics="PICS_EVENT_LOG",
    initial="BT00 lists ET03 or BT05 as written; it is rewritten with its own content.",
    steps=[("Read the BT74 header", "0x00"),
           ("Rewrite a scratch table with its own content", "0x00"),
           ("Read the BT74 header and the new entries", "the newest new entry carries LAST_ENTRY_SEQ_NBR (low 16 "
            "bits), the others smaller numbers above the old LAST_ENTRY_SEQ_NBR; a new entry has user id 0xFFFE")],
)
def test_event_user_id(tc, session, plan):
    """Source: TS 104 001 Clauses 7-8 (clause unknown); OPG p.51 user id values and LAST_ENTRY_SEQ_NBR (tbl §8.10,
    §11.5 EV-02)."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        tc.require(dut.listed(bt(74)), "BT00 does not list BT74")
        s0 = dut.read_field(bt(74), "last_entry_seq_nbr")
    with tc.step(2):
        tid = dut.scratch()[0][0]
        r = dut.read(tid)
        tc.require(r.ok, f"{table_name(tid)} read answered {r.describe()}")
        w = dut.write(tid, r.data)
        tc.require(w.ok, f"rewrite of {table_name(tid)} answered {w.describe()}")
    with tc.step(3):
        n = dut.dims().bt71.nbr_history_entries
        s1 = dut.read_field(bt(74), "last_entry_seq_nbr")
        last = dut.read_field(bt(74), "last_entry_element")
        d = (s1 - s0) % 2**32
        tc.require(d >= 1, "the table write was not logged (LAST_ENTRY_SEQ_NBR unchanged): no event to judge")
        tc.require(d <= min(n, 8), f"LAST_ENTRY_SEQ_NBR grew by {d} around one write: too many events to judge")
        # BT74.5 is the number of the newest BT74 entry (OPG:2579); events logged in ET79 take numbers too
        # (OPG:2600), so the d numbers taken since s0 may have landed in fewer than d BT74 entries.
        new, prev_ahead = [], d + 1
        for k in range(min(d, n)):
            e = dut.read_field(bt(74), f"entries[{(last - k) % n}]")
            if "seq_nbr" in e:
                if k == 0:
                    tc.check(e.seq_nbr == s1 & 0xFFFF, f"the newest BT74 entry has sequence number {e.seq_nbr}, not "
                             f"the low 16 bits of LAST_ENTRY_SEQ_NBR {s1} (REQ-TBL-053)", req="REQ-TBL-053")
                ahead = (e.seq_nbr - s0) & 0xFFFF  # how far past the old LAST_ENTRY_SEQ_NBR
                if k > 0 and not 1 <= ahead < prev_ahead:
                    break  # logged before the write: the new entries end here
                prev_ahead = ahead
            new.append(e)
        tc.observe(f"LAST_ENTRY_SEQ_NBR {s0} -> {s1}: {len(new)} new BT74 entries for {d} numbers taken")
        users = [e.user_id for e in new]
        tc.observe(f"{d} new entries: " + ", ".join(f"event {e.event_code} user 0x{e.user_id:04X}" for e in new))
        tc.check(0xFFFE in users, f"the event caused by the power-line write is logged with user id(s) "
                 f"{', '.join(f'0x{u:04X}' for u in users)}; 0xFFFE expected (REQ-TBL-052)", req="REQ-TBL-052")


@testcase(
    id="TC_TBL_RO_BI_01",
    title="Read-only tables refuse writes and stay unchanged",
    purpose="Ensure that, when the tester writes the tables the OSGP guides give no write access (BT00, BT04, BT22 "
            "on the optical port; BT01, BT26, BT52, BT55, BT74, ET54 for the MEP keys) that BT00 lists, the DUT "
            "refuses each write and BT01 stays as it was",
    requirements=["REQ-TBL-011"],
    initial="Any write that lands is undone by writing the original content back.",
    steps=[("Write BT01 with a changed ED_MODEL", "a refusal (non-zero code)"),
           ("Read BT01", "unchanged"),
           ("Write each other read-only table with its own current content (first bytes only when it is longer "
            "than one request)", "a refusal (non-zero code)")],
)
def test_read_only_tables(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annexes A-B (clause unknown); OPG:2350, 453, 1025 ('Write access: None' for
    BT00, BT04, BT22); MEP-DG Table C.1 (MEP-DG:13043-13140: BT01, BT26, BT52, BT55, BT74, ET54 read-only for the
    MEP keys; no source marks BT03). Table numbering rests on ASM-TBL-01."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        tc.require(dut.listed(bt(1)), "BT00 does not list BT01")
        r = dut.read(bt(1))
        tc.require(r.ok, f"BT01 read answered {r.describe()}")
        original = r.data
        off, n = schema(bt(1)).field_offset("ed_model", dut.dims())
        changed = original[:off] + Dut.variant("chars", original[off:off + n], 3) + original[off + n:]
        w = dut.write(bt(1), changed)
        tc.check(w.code in ERROR_CODES, f"write of read-only BT01 with a changed ED_MODEL answered {w.describe()} "
                 "(BT01 'Write None', MEP-DG:10158 and Table C.1; ED_MODEL is VCI 'H', OPG:780-785) (REQ-TBL-011)")
    with tc.step(2):
        back = dut.read(bt(1))
        tc.check(back.ok and back.data == original, f"BT01 reads {hexs(back.data)} after the write, was "
                 f"{hexs(original)} (REQ-TBL-011)")
        if back.data != original:
            dut.restore(bt(1), original)
    with tc.step(3):
        for tid in READ_ONLY:
            if tid == bt(1) or not dut.listed(tid):
                continue
            if dut.writable(tid):
                tc.observe(f"BT00 lists {table_name(tid)} as written although the guides mark it read-only")
            r = dut.read(tid)
            if not r.ok:
                size = dut.size(tid) or 0
                cur = dut.read_span(tid, 0, min(size, dut.request_budget - 5)) if size else None
            else:
                cur = r.data
            if not cur:
                tc.observe(f"{table_name(tid)}: could not read it, write not tried")
                continue
            c = min(len(cur), dut.request_budget - 5)
            w = dut.write(tid, cur[:c], count=c)
            rule = ("'Write access: None', OPG" if tid in READ_ONLY_ALL_KEYS else
                    "read-only for the MEP keys, MEP-DG Table C.1; no source says power line differs")
            tc.check(w.code in ERROR_CODES, f"write of read-only {table_name(tid)} (its own first {c} bytes) "
                     f"answered {w.describe()} ({rule}) (REQ-TBL-011)")
            if w.ok:
                tc.observe(f"{table_name(tid)} accepted a write of its own content")
