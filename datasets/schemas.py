"""Known table layouts (network flow exports) recognised by their column names."""

from __future__ import annotations

import re

#: The 41 KDD Cup 99 / NSL-KDD connection features, in file order.
KDD_FEATURES = (
    "duration", "protocol_type", "service", "flag", "src_bytes", "dst_bytes",
    "land", "wrong_fragment", "urgent", "hot", "num_failed_logins", "logged_in",
    "num_compromised", "root_shell", "su_attempted", "num_root",
    "num_file_creations", "num_shells", "num_access_files", "num_outbound_cmds",
    "is_host_login", "is_guest_login", "count", "srv_count", "serror_rate",
    "srv_serror_rate", "rerror_rate", "srv_rerror_rate", "same_srv_rate",
    "diff_srv_rate", "srv_diff_host_rate", "dst_host_count", "dst_host_srv_count",
    "dst_host_same_srv_rate", "dst_host_diff_srv_rate",
    "dst_host_same_src_port_rate", "dst_host_srv_diff_host_rate",
    "dst_host_serror_rate", "dst_host_srv_serror_rate", "dst_host_rerror_rate",
    "dst_host_srv_rerror_rate",
)  # fmt: skip

#: Column names of the raw (headerless) UNSW-NB15 CSV files, in file order.
UNSW_NB15_COLUMNS = (
    "srcip", "sport", "dstip", "dsport", "proto", "state", "dur", "sbytes",
    "dbytes", "sttl", "dttl", "sloss", "dloss", "service", "Sload", "Dload",
    "Spkts", "Dpkts", "swin", "dwin", "stcpb", "dtcpb", "smeansz", "dmeansz",
    "trans_depth", "res_bdy_len", "Sjit", "Djit", "Stime", "Ltime", "Sintpkt",
    "Dintpkt", "tcprtt", "synack", "ackdat", "is_sm_ips_ports", "ct_state_ttl",
    "ct_flw_http_mthd", "is_ftp_login", "ct_ftp_cmd", "ct_srv_src", "ct_srv_dst",
    "ct_dst_ltm", "ct_src_ltm", "ct_src_dport_ltm", "ct_dst_sport_ltm",
    "ct_dst_src_ltm", "attack_cat", "Label",
)  # fmt: skip

#: Default roles per schema; columns not listed are inferred from their values.
SCHEMA_ROLES: dict[str, dict[str, str]] = {
    "nsl-kdd": {
        "protocol_type": "categorical", "service": "categorical",
        "flag": "categorical", "attack": "truth", "difficulty": "truth",
    },
    "kdd99": {
        "protocol_type": "categorical", "service": "categorical",
        "flag": "categorical", "attack": "truth",
    },
    "cicids": {
        "Flow ID": "id", "Src IP": "ip", "Source IP": "ip", "Dst IP": "ip",
        "Destination IP": "ip", "Src Port": "port", "Source Port": "port",
        "Dst Port": "port", "Destination Port": "port", "Protocol": "categorical",
        "Timestamp": "timestamp", "attack": "truth",
        "Attempted Category": "truth",
    },
    "zeek-conn": {
        "ts": "timestamp", "uid": "id", "id.orig_h": "ip", "id.resp_h": "ip",
        "id.orig_p": "port", "id.resp_p": "port", "proto": "categorical",
        "service": "categorical", "conn_state": "categorical",
        "history": "categorical", "tunnel_parents": "id",
    },
    "unsw-nb15": {
        "srcip": "ip", "dstip": "ip", "sport": "port", "dsport": "port",
        "proto": "categorical", "state": "categorical", "service": "categorical",
        "Stime": "timestamp", "Ltime": "timestamp", "attack_cat": "truth",
    },
    "nfdump": {
        "ts": "timestamp", "te": "timestamp", "tr": "timestamp", "sa": "ip",
        "da": "ip", "sp": "port", "dp": "port", "pr": "categorical",
        "flg": "categorical",
    },
    "netflow": {},
    "traffic-matrix": {},
}  # fmt: skip

#: Columns holding epoch seconds in a schema, converted to UTC times on reading.
EPOCH_SECONDS: dict[str, tuple[str, ...]] = {
    "zeek-conn": ("ts",),
    "unsw-nb15": ("Stime", "Ltime"),
}

_NETFLOW_SRC = {"srcaddr", "srcip", "sourceip", "ipv4srcaddr", "sa", "saddr", "src"}
_NETFLOW_DST = {
    "dstaddr",
    "dstip",
    "destinationip",
    "ipv4dstaddr",
    "da",
    "daddr",
    "dst",
}
_NETFLOW_VOLUME = {"bytes", "inbytes", "dbytes", "doctets", "octets", "packets",
                   "inpkts", "dpkts", "ibyt", "ipkt", "pkts"}  # fmt: skip
_OD_PAIR = re.compile(r".+->.+")


def normalise_name(name: str) -> str:
    """Lower-case a column name and keep only letters and digits."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def headerless_names(first_row: list[str]) -> tuple[list[str], str] | None:
    """Column names for a headerless file of a known layout, from its first row.

    Parameters
    ----------
    first_row : list of str
        The cells of the first data row.

    Returns
    -------
    (names, schema) or None
        The names to use and the schema detected, or None when unknown.
    """
    n_cols = len(first_row)
    if n_cols in (42, 43) and first_row[1].strip().lower() in {"tcp", "udp", "icmp"}:
        if n_cols == 43:
            return [*KDD_FEATURES, "attack", "difficulty"], "nsl-kdd"
        return [*KDD_FEATURES, "attack"], "kdd99"
    if n_cols == len(UNSW_NB15_COLUMNS) and first_row[4].strip().lower() in {
        "tcp", "udp", "icmp", "arp", "ospf", "sctp", "unas",
    }:  # fmt: skip
        return list(UNSW_NB15_COLUMNS), "unsw-nb15"
    return None


def detect_schema(columns: list[str]) -> str | None:
    """Name the known layout a table's columns follow, or None.

    Parameters
    ----------
    columns : list of str
        Column names as read (already trimmed).

    Returns
    -------
    str or None
        One of the keys of :data:`SCHEMA_ROLES`.
    """
    names = set(columns)
    norm = {normalise_name(c) for c in columns}
    kdd_core = {"protocol_type", "service", "flag", "src_bytes", "dst_bytes"}
    if kdd_core <= names and sum(c in names for c in KDD_FEATURES) >= 35:
        return "nsl-kdd" if "difficulty" in names else "kdd99"
    if {"id.orig_h", "id.resp_h", "uid"} <= names:
        return "zeek-conn"
    if "flowduration" in norm and (
        {"totalfwdpackets", "totfwdpkts", "totalfwdpacket"} & norm
    ):
        return "cicids"
    if {"srcip", "sport", "dstip", "dsport", "sbytes", "dbytes"} <= norm:
        return "unsw-nb15"
    if {"ts", "te", "td", "sa", "da", "sp", "dp", "pr", "ipkt", "ibyt"} <= names:
        return "nfdump"
    if sum(bool(_OD_PAIR.fullmatch(str(c))) for c in columns) >= 4:
        return "traffic-matrix"
    if norm & _NETFLOW_SRC and norm & _NETFLOW_DST and norm & _NETFLOW_VOLUME:
        return "netflow"
    return None
