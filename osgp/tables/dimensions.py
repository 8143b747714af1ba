"""Dimensions: the values read from the dimension tables that size the other tables.

Schemas read them as ``d.bt21.nbr_summations``. A role is filled from one table (or its fallback):

=======  =======================  ==========================================================
role     read from                sizes
=======  =======================  ==========================================================
bt00     BT00                     bitmaps (BT00 itself, BT04, BT73), BT03 mfg status, BT04
                                  records, NI formats, CHAR/BCD identifiers, LP data-set count
bt01     BT01                     firmware-dependent layouts (ET23, ET29, ET54)
bt21     BT21, else BT20          register tables BT22..BT28 [MEP p.52]
bt50     BT50                     the TOU calendar BT54 (NES meters have no BT51)
bt61     BT61, else BT60          load-profile tables BT62..BT67, ET21
bt71     BT71, else BT70          log tables BT72..BT76, ET79
et11     ET11                     extended tables (ET54 module records, EP19 write data)
et54     ET54                     ET79 entry count (ET54.80) [MEP p.179]
=======  =======================  ==========================================================

A missing role raises :class:`DimensionError` naming the table to read first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .values import DimensionError, Record

ET = 2048

#: role -> table ids that can fill it, preferred first
ROLE_SOURCES: dict[str, tuple[int, ...]] = {
    "bt00": (0,), "bt01": (1,), "bt21": (21, 20), "bt50": (50,), "bt61": (61, 60), "bt71": (71, 70),
    "et11": (ET + 11,), "et54": (ET + 54,),
}

#: ET89 "adjustable log unread entry mask" length A (ET89.130) — not given by the source [ASM-TBL-04]
DEFAULT_ET89_ADJ_LOG_MASK_LEN = 1


def _table_label(table_id: int) -> str:
    return f"ET{table_id - ET:02d}" if table_id >= ET else f"BT{table_id:02d}"


def _role_hint(role: str) -> str:
    ids = ROLE_SOURCES.get(role)
    if not ids:
        return f"'{role}'"
    return " (or ".join(_table_label(i) for i in ids) + ")" * (len(ids) - 1)


class _View:
    """Read-only attribute view of a dimension table; a missing field raises DimensionError."""

    __slots__ = ("_role", "_rec")

    def __init__(self, role: str, rec: Mapping) -> None:
        self._role, self._rec = role, rec

    def __getattr__(self, name: str) -> Any:
        try:
            return self._rec[name]
        except KeyError:
            raise DimensionError(
                f"dimension {self._role}.{name} is missing: read {_role_hint(self._role)} first") from None

    def get(self, name: str, default: Any = None) -> Any:
        return self._rec.get(name, default)


class Dimensions:
    """Decoded dimension tables by role, plus a few derived values.

    Build with :meth:`from_tables` from decoded tables (``{21: bt21_value, ...}``), or take the
    reference set :meth:`nes_default`. Roles may hold partial records: only the fields a schema
    actually reads need to be there.
    """

    def __init__(self, tables: Mapping[str, Mapping] | None = None, *, lp_sets: int | None = None,
                 et89_adj_log_mask_len: int = DEFAULT_ET89_ADJ_LOG_MASK_LEN) -> None:
        self._tables: dict[str, Mapping] = dict(tables or {})
        self._lp_sets = lp_sets
        self.et89_adj_log_mask_len = et89_adj_log_mask_len

    # -- construction ------------------------------------------------------------------------------

    @classmethod
    def from_tables(cls, decoded: Mapping[int, Mapping], **options: Any) -> Dimensions:
        """Collect roles from decoded tables keyed by table id (BT n = n, ET n = 2048 + n)."""
        tables = {}
        for role, ids in ROLE_SOURCES.items():
            for tid in ids:
                if tid in decoded:
                    tables[role] = decoded[tid]
                    break
        return cls(tables, **options)

    @classmethod
    def nes_default(cls) -> Dimensions:
        """A small, consistent set of NES-typical dimensions (firmware 3.80) for the reference device.

        Values from the digest: BT00 [OPG p.48], BT21 as read in MEP p.42-48 (§10.4), BT50 [MEP p.220],
        BT71 [OPG p.50], ET11 [OPG p.40]. The load profile (one data set, 10 blocks of 48 half-hour
        intervals, 2 channels) is a deliberately small choice within BT60's maxima.
        """
        return cls(_nes_tables())

    def with_table(self, role: str, value: Mapping) -> Dimensions:
        """A copy where ``role`` reads ``value`` (used for a layout's own earlier fields)."""
        out = Dimensions(self._tables, lp_sets=self._lp_sets, et89_adj_log_mask_len=self.et89_adj_log_mask_len)
        out._tables[role] = value
        return out

    # -- access ------------------------------------------------------------------------------------

    def get(self, role: str | None) -> Mapping | None:
        """The record filling ``role``, or None."""
        return self._tables.get(role) if role else None

    def __getattr__(self, role: str) -> _View:
        if role.startswith("_"):
            raise AttributeError(role)
        try:
            return _View(role, self._tables[role])
        except KeyError:
            raise DimensionError(f"no dimensions from {_role_hint(role)}: read it first") from None

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(self._tables)

    @property
    def lp_sets(self) -> int:
        """Number of load-profile data sets: explicit, else BT64, BT65, ... flagged in BT00
        STD_TBLS_USED, counted from BT64 until the first gap [ASM-TBL-03]."""
        if self._lp_sets is not None:
            return self._lp_sets
        used = self.bt00.std_tbls_used
        n = 0
        while n < 4 and 64 + n in used:
            n += 1
        return n

    @property
    def firmware(self) -> tuple[int, int, int]:
        """(x, yy, zz) of BT01's legally relevant firmware version x.yy.zz [OPG p.19]."""
        bt01 = self.bt01
        return (bt01.fw_major, bt01.fw_minor, bt01.fw_build)

    def __repr__(self) -> str:
        return f"Dimensions(roles={list(self._tables)}, lp_sets={self._lp_sets})"


def _nes_tables() -> dict[str, Record]:
    R = Record  # noqa: N806
    std_tbls = {0, 1, 3, 4, 7, 8, 15, 20, 21, 22, 23, 24, 25, 26, 28, 50, 52, 53, 54, 55,
                60, 61, 62, 63, 64, 70, 71, 74}
    bt00 = R(
        data_order=0, char_format=1, model_select=0, tm_format=2, data_access_method=1, id_form=1,
        int_format=0, ni_format1=8, ni_format2=8, manufacturer="NES ", nameplate_type=2,
        default_set_used=0, max_proc_parm_length=255, max_resp_data_len=12, std_version_no=1,
        std_revision_no=0, dim_std_tbls_used=10, dim_mfg_tbls_used=13, dim_std_proc_used=2,
        dim_mfg_proc_used=12, dim_mfg_status_used=4, nbr_pending=2,
        std_tbls_used=frozenset(std_tbls),
        mfg_tbls_used=frozenset({3, 4, 11, 21, 23, 29, 46, 47, 54}),
        std_proc_used=frozenset({4, 5, 7, 8, 9, 10, 12, 13, 14, 15}),
        mfg_proc_used=frozenset({17, 19}),
        std_tbls_write=frozenset({7, 15, 23, 53, 54}),
        mfg_tbls_write=frozenset({3, 4, 23, 47}),
    )
    bt01 = R(manufacturer="NES ", ed_model="REFMETER", hw_version_number=0x3A, hw_revision_number=0x05,
             fw_build=5, fw_minor=80, fw_major=3, mfg_serial_number="0000000000012345")
    # BT21 bytes 3F 0E 0C 0F 08 00 01 04 08 1A [MEP p.42-48]
    bt21 = R(season_info_field_flag=True, date_time_field_flag=True, demand_reset_ctr_flag=True,
             demand_reset_lock_flag=True, cum_demand_flag=True, cont_cum_demand_flag=True,
             time_remaining_flag=False, self_read_inhibit_overflow_flag=False, self_read_seq_nbr_flag=True,
             daily_self_read_flag=True, weekly_self_read_flag=True, self_read_demand_reset=0,
             nbr_self_reads=12, nbr_summations=15, nbr_demands=8, nbr_coin_values=0, nbr_occur=1,
             nbr_tiers=4, nbr_present_demands=8, nbr_present_values=26)
    bt50 = R(tou_self_read_flag=True, season_self_read_flag=True, season_demand_reset_flag=False,
             season_chng_armed_flag=False, sort_dates_flag=False, anchor_date_flag=False,
             cap_dst_auto_flag=False, separate_weekdays_flag=False, separate_sum_demands_flag=False,
             sort_tier_switches_flag=False, capable_of_tm_zn_offset_flag=False,
             nbr_seasons=12, nbr_special_sched=2, nbr_non_recurr_dates=25, nbr_recurr_dates=23,
             nbr_tier_switches=200, calendar_tbl_size=808)
    block = 5 + 6 + 48 * (2 // 2 + 1 + 4 * 2)  # end time + simple status + 48 intervals
    lp_flags = {f"lp_set{n}_inhibit_ovf_flag": False for n in range(1, 5)}
    lp_flags |= {f"scalar_divisor_flag_set{n}": False for n in range(1, 5)}
    bt61 = R(lp_memory_len=10 * block, **lp_flags, blk_end_read_flag=False, blk_end_pulse_flag=False,
             extended_int_status_flag=True, simple_int_status_flag=True,
             inv_uint8_flag=False, inv_uint16_flag=False, inv_uint32_flag=False, inv_int8_flag=False,
             inv_int16_flag=False, inv_int32_flag=True, inv_ni_fmat1_flag=False, inv_ni_fmat2_flag=False,
             sets=[R(nbr_blks=10, nbr_blk_ints=48, nbr_chns=2, max_int_time=30)])
    bt71 = R(event_number_flag=False, hist_date_time_flag=True, hist_seq_nbr_flag=True,
             hist_inhibit_ovf_flag=False, event_inhibit_ovf_flag=False, nbr_std_events=8,
             nbr_mfg_events=19, hist_data_length=2, event_data_length=2, nbr_history_entries=100,
             nbr_event_entries=0)
    et11 = R(nbr_devices=5, et13_entry_size=66, et14_entry_size=36, on_demand_queue_size=5,
             et15_entry_size=6, et16_entry_size=517, txn_request_length=896, txn_response_length=1785,
             on_demand_write_size=25, phase_data_size=16, et34_entry_size=22, one_time_read_queue_size=3,
             mbus_one_time_read_queue_size=4, et19_entry_size=17, et20_entry_size=17, nbr_group_ids=10,
             nbr_harmonics=10, mbus_multicast_length=65, et22_alarm_size=120, mep_data_sources=6,
             et48_entries=10, max_critical_event_bitmaps=10, et57_entries=16, relay_switches=80,
             delta_alert_sources=10, ram_txn_request_length=261, ram_txn_response_length=769,
             fw_module_count=6, fw_module_length=7, mep_channel_count=2, reserved_35=10,
             et17_bitmap_size=1250, error_screen_count=3, extension=b"")
    et54 = R(et79_entry_count=0)
    return {"bt00": bt00, "bt01": bt01, "bt21": bt21, "bt50": bt50, "bt61": bt61, "bt71": bt71,
            "et11": et11, "et54": et54}
