"""Compiled regexes for the lines of an OOM report, each under a sample line it matches.

The text they see has its log-container prefix removed (see `oomlens.containers`). Fields
are matched with independent patterns where a line may be split or reordered (KERN_CONT
fragments, see kernel-oom-format.md §9.3), and anchored where the shape is fixed.
"""

from __future__ import annotations

import re

# --- trigger ------------------------------------------------------------------------

# python3 invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0
# lid.sh invoked oom-killer: gfp_mask=0x80d0, order=0, oomkilladj=0           (<= 2.6.28)
# traced_probes invoked oom-killer: gfp_mask=0x..(..), nodemask=(null),  order=2, ...  (4.11-4.14)
# oom-killer: gfp_mask=0x201d2, order=0                                 (2.6.1x: no "<comm> invoked")
# The comm may hold spaces, "/" and ":"; anchor on the last " invoked oom-killer: ".
TRIGGER = re.compile(r"^(?:(?P<comm>.*) invoked )?oom-killer: (?P<rest>gfp_mask=.*)$")
TRIGGER_GFP = re.compile(r"gfp_mask=(?P<mask>0x[0-9a-fA-F]+|\d+)(?:\((?P<flags>[^)]*)\))?")
TRIGGER_ORDER = re.compile(r"\border=(?P<order>-?\d+)")
TRIGGER_ADJ = re.compile(r"\boom_score_adj=(?P<adj>-?\d+)")
TRIGGER_OLD_ADJ = re.compile(r"\b(?:oom_adj|oomkilladj)=(?P<adj>-?\d+)")
TRIGGER_NODEMASK = re.compile(r"\bnodemask=(?P<nodemask>\(null\)|[0-9,\-]+)")

# sed cpuset=/ mems_allowed=0-1                                          (2.6.29 - 4.19)
CPUSET = re.compile(r"^(?P<comm>.*?) ?cpuset=(?P<cpuset>\S*) mems_allowed=(?P<mems>\S*)$")

# sysrq: Manual OOM execution          (older: "SysRq : Manual OOM execution")
MANUAL = re.compile(r"Manual OOM execution")

# --- stack header -----------------------------------------------------------------

# CPU: 1 UID: 0 PID: 3775 Comm: python3 Not tainted 6.18.44-fc-v669 #1 PREEMPT(none)
# CPU: 4 PID: 29481 Comm: sed Not tainted 3.10.0-514.6.1.el7.x86_64 #1
# CPU: 0 PID: 1 Comm: init Kdump: loaded Tainted: G        W  O      5.4.51-xxx #1
# The comm may hold spaces ("CPU 0/KVM", "Web Content"): it ends before the taint text.
CPU_LINE = re.compile(
    r"^CPU: (?P<cpu>\d+) (?:UID: (?P<uid>\d+) )?PID: (?P<pid>\d+) Comm: (?P<comm>.*?) "
    r"(?:Kdump: loaded )?(?P<taint>Not tainted|Tainted: [A-Z ]*?) +(?P<release>\d\S*)"
)
# Pid: 32336, comm: lid.sh Tainted: P           2.6.28-14-generic #47-Ubuntu      (2.6.x x86)
PID_LINE = re.compile(
    r"^Pid: (?P<pid>\d+), comm: (?P<comm>.*?) +(?P<taint>Not tainted|Tainted: [A-Z ]*?) +"
    r"(?P<release>\d\S*)"
)
# Hardware name: HP ProLiant DL385 G7, BIOS A18 12/08/2012
HARDWARE = re.compile(r"^Hardware name: (?P<hw>.*)$")
# Workqueue: events moom_callback
WORKQUEUE = re.compile(r"^Workqueue: (?P<wq>.*)$")
# Call Trace:    / Call trace: (arm64) / Backtrace: (arm)
TRACE_START = re.compile(r"^(?:Call [Tt]race:|Backtrace:)")
# [<ffffffff816861ac>] dump_stack+0x19/0x1b
# dump_stack_lvl+0x57/0x80       ? srso_alias_return_thunk+0x5/0xfbef5
# [<c0014200>] (dump_backtrace) from [<c0015020>] (show_stack+0x20/0x28)   (arm)
# dump_backtrace from show_stack+0x20/0x28                                  (arm, >= 5.18)
# [c000000000a7b0c0] [c000000000a7b0f0] show_stack+0x90/0x190 (unreliable)   (powerpc)
FRAME = re.compile(
    r"^(?:\[<?[0-9a-f]+>?\] ?)*(?P<q>\? )?(?:\((?P<arm>[\w.]+)\) from .*|"
    r"(?P<fn>[A-Za-z_.$][\w.$]*\+0x[0-9a-f]+/0x[0-9a-f]+)(?: \[\w+\])?(?: \(unreliable\))?|"
    r"(?P<armnew>[\w.]+) from [\w.]+\+0x[0-9a-f]+/0x[0-9a-f]+)\s*$"
)
# <TASK> </TASK> <IRQ> <EOI> <NMI>
TRACE_MARK = re.compile(r"^</?(?:TASK|IRQ|EOI|NMI)>$")
# RIP: 0033:0x7f356778c0ba   RSP: 002b:...   RAX: ... RBX: ...   Code: 00 00 48 c7 ...
# ffff880182272f10 00000000021dcb0a ffff880418207938 ffffffff816861ac   (raw stack words)
# pc : ... lr : ... sp : ... x29: ...   (arm64)
REGISTERS = re.compile(
    r"^(?:RIP|RSP|RAX|RDX|RBP|R\d+|FS|CS|CR\d|DR\d|EIP|EAX|ESI|EBP|DS|Code|Exception stack|"
    r"pc ?|lr ?|sp ?|x\d+|r\d+|psr|NIP|LR|CTR|REGS|MSR|CFAR|GPR\d+|Stack|Kernel Offset)"
    r"\s*:|^(?:[0-9a-f]{8,16}(?: |$)){2,}|^[0-9a-f]{3,8}: [0-9a-f]{8}"
)

# --- Mem-Info ---------------------------------------------------------------------

# Mem-Info:        (2.6.1x: "Mem-info:")
MEMINFO_START = re.compile(r"^Mem-[Ii]nfo:$")
# DMA per-cpu:     /  CPU    0: hi:    0, btch:   1 usd:   0     (<= 4.0)
# cpu 0 hot: high 186, batch 31 used:12                            (2.6.1x)
PERCPU = re.compile(
    r"^(?:\w+ per-cpu:(?: empty)?|CPU +\d+: hi: +\d+, btch: +\d+ usd: +\d+|"
    r"cpu \d+ (?:hot|cold): high \d+, batch \d+ used:\d+)$"
)
# active_anon:377 inactive_anon:6100418 isolated_anon:0      (the global block, in pages)
# Active:52613 inactive:59296 dirty:0 writeback:0 ...        (2.6.1x)
COUNTER = re.compile(r"(?P<key>[A-Za-z_]\w*):(?P<val>\d+)(?=\s|$)")
# Node 0 active_anon:1508kB inactive_anon:24401672kB ... all_unreclaimable? yes
NODE_LINE = re.compile(r"^Node (?P<node>\d+) (?P<rest>active_anon:.*)$")
# Node 0 DMA32 free:92692kB boost:0kB min:8464kB low:11552kB high:14640kB ...
# DMA free:3504kB min:64kB low:80kB high:96kB ... present:15764kB pages_scanned:0 all_unreclaimable? yes
ZONE_LINE = re.compile(
    r"^(?:Node (?P<node>\d+) )?(?P<zone>DMA32|DMA|Normal|HighMem|Movable|Device) "
    r"(?P<rest>free:\d+kB.*)$"
)
# free:3504kB  min:64kB  reserved_highatomic:0KB  pages_scanned:18912
KB_FIELD = re.compile(r"(?P<key>[A-Za-z_][\w()]*):(?P<val>\d+)(?P<unit>[kK]B)?(?=\s|$)")
UNRECLAIMABLE = re.compile(r"all_unreclaimable\? ?(?P<v>yes|no)")
# lowmem_reserve[]: 0 3019 24090 24090 24090
LOWMEM_RESERVE = re.compile(r"^lowmem_reserve\[\]:(?P<vals>(?: \d+)*)\s*$")
# Node 0 DMA32: 15*4kB (M) 12*8kB (UM) ... 21*4096kB (UM) = 92636kB
# DMA: 0*4kB 0*8kB 1*16kB ... = 3504kB           DMA32: empty  (2.6.1x)
BUDDY_LINE = re.compile(
    r"^(?:Node (?P<node>\d+) )?(?P<zone>DMA32|DMA|Normal|HighMem|Movable|Device): "
    r"(?P<rest>(?:\d+\*\d+kB|empty).*)$"
)
BUDDY_TERM = re.compile(r"(?P<count>\d+)\*(?P<size>\d+)kB(?: \((?P<types>[UMEHRCI]+)\))?")
BUDDY_TOTAL = re.compile(r"= (?P<total>\d+)kB\s*$")
# Node 0 hugepages_total=0 hugepages_free=0 hugepages_surp=0 hugepages_size=2048kB
HUGEPAGES = re.compile(
    r"^Node (?P<node>\d+) hugepages_total=(?P<total>\d+) hugepages_free=(?P<free>\d+) "
    r"hugepages_surp=(?P<surp>\d+) hugepages_size=(?P<size>\d+)kB"
)
# 2282 total pagecache pages
PAGECACHE = re.compile(r"^(?P<n>\d+) total pagecache pages$")
# 0 pages in swap cache
SWAPCACHE = re.compile(r"^(?P<n>\d+) pages in swap cache$")
# Swap cache stats: add 53898, delete 45962, find 37394/38771   (removed in 6.0)
# Swap cache: add 677008, delete 676968, find 278549/335435, race 0+25   (2.6.1x)
SWAPCACHE_STATS = re.compile(r"^Swap cache(?: stats)?: add \d+")
# Free swap  = 2795472kB          Total swap = 2971984kB
SWAP = re.compile(r"^(?P<which>Free|Total) swap *= *(?P<kb>\d+)kB$")
# Free pages:        3328kB (0kB HighMem)      Free swap:            0kB   (2.6.1x)
OLD_FREE = re.compile(r"^Free (?:pages|swap): +\d+kB")
# 6291358 pages RAM     33538 pages HighMem     0 pages HighMem/MovableOnly    120337 pages reserved
# 57296 pages shared    220490 pages non-shared    131072 pages cma reserved   0 pages hwpoisoned
# 133120 pages of RAM   3665 reserved pages   40 pages swap cached      (2.6.1x)
PAGES_TOTAL = re.compile(
    r"^(?P<n>\d+) (?:pages (?P<what>RAM|HighMem/MovableOnly|HighMem|reserved|shared|non-shared|"
    r"cma reserved|hwpoisoned|in pagetable cache|of RAM|swap cached)|(?P<old>reserved) pages)$"
)
# Unreclaimable slab info:     /  Name                      Used          Total
# kmemleak_object          2449340KB    2449340KB
SLAB_START = re.compile(r"^Unreclaimable slab info:$")
SLAB_HEADER = re.compile(r"^Name +Used +Total$")
SLAB_ROW = re.compile(r"^(?P<name>\S+) +(?P<used>\d+)KB +(?P<total>\d+)KB$")
# Memory allocations (profiling is currently turned on):     (6.10+)
# 6.49 MiB   1661 mm/slub.c:2458 func:alloc_slab_page
PROFILING_START = re.compile(r"^Memory allocations(?: \(profiling is currently turned \w+\))?:$")
PROFILING_ROW = re.compile(r"^\d+(?:\.\d+)? [KMGT]?i?B +\d+ \S+:\d+")
# Show Memory / "SysRq : Show Memory" / warn_alloc: lines that also print a Mem-Info block
# but are not an OOM report.
NOT_OOM_MEMINFO = re.compile(r"page allocation failure: order:|Show Memory$|warn_alloc")

# --- memcg ------------------------------------------------------------------------

# Task in /memory-limit killed as a result of limit of /memory-limit      (v1, <= 4.19)
TASK_IN = re.compile(r"^Task in (?P<task>\S*) killed as a result of limit of (?P<oom>\S*)$")
# The 3.x KERN_CONT split of the same line over three records:
# "Task in /lxc/foo" / "killed as a result of limit of " / "/lxc/foo"
TASK_IN_HEAD = re.compile(r"^Task in (?P<task>\S+)$")
TASK_IN_MID = re.compile(r"^killed as a result of limit of(?: (?P<oom>\S+))?$")
# Memory limit reached of cgroup /foo
LIMIT_REACHED = re.compile(r"^Memory limit reached of cgroup (?P<oom>\S+)$")
# memory: usage 40960kB, limit 40960kB, failcnt 3850
# memory+swap: usage 40960kB, limit 9007199254740988kB, failcnt 0
# kmem: usage 452kB, limit 9007199254740988kB, failcnt 0      swap: usage 0kB, limit 0kB, failcnt 0
MEMCG_COUNTER = re.compile(
    r"^(?P<name>memory|memory\+swap|kmem|swap|tcpmem|kmem\.tcp): usage (?P<usage>\d+)kB, "
    r"limit (?P<limit>\d+)kB(?:, failcnt (?P<failcnt>\d+))?"
)
# Memory cgroup stats for /oomtest-a:                                  (multi-line form)
# Memory cgroup stats for /memory-limit: cache:0KB rss:102400KB ...    (one-line v1, 3.9-6.4)
MEMCG_STATS = re.compile(r"^Memory cgroup stats for (?P<path>.*?):(?: (?P<rest>.*))?$")
# cache 69632       anon 4116684800      workingset_refault_anon 0
STAT_KV = re.compile(r"^(?P<key>[a-z][a-z0-9_]*) (?P<val>\d+)$")
# cache:0KB rss:102400KB ...
STAT_KB = re.compile(r"(?P<key>[a-z][a-z0-9_]*):(?P<val>\d+)KB")
# Tasks in /kubepods.slice/.../cri-containerd-46b3.scope are going to be killed due to
# memory.oom.group set        (4.19+)
OOM_GROUP = re.compile(
    r"^Tasks in (?P<path>.*) are going to be killed due to memory\.oom\.group set$"
)

# --- task table -------------------------------------------------------------------

# Tasks state (memory values in pages):                                 (4.19+)
TASKS_BANNER = re.compile(r"^Tasks state \(memory values in pages\):$")
# [ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name
# [  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name
TASKS_HEADER = re.compile(r"^\[ *pid *\] +(?P<cols>uid .*\bname)\s*$")
# [   1987]     0  1987  6102631  6100032  6100032        0         0 48955392        0             0 python3
TASK_ROW = re.compile(r"^\[ *(?P<pid>\d+)\] +(?P<rest>-?\d+ .*)$")

# --- summary, selection, kill, reaper, panic ---------------------------------------

# oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/a,
#   task_memcg=/a,task=python3,pid=3775,uid=0                            (5.0+)
OOM_KILL = re.compile(r"^oom-kill:(?P<rest>.*)$")
# task= may hold commas: take pid and uid from the right.
OOM_KILL_TAIL = re.compile(r",task=(?P<task>.*),pid=(?P<pid>\d+),uid=(?P<uid>\d+)\s*$")

# Out of memory: Kill process 3161 (mysqld) score 626 or sacrifice child           (2.6.36-5.0)
# Memory cgroup out of memory: Kill process 24387 (stress) score 972 or sacrifice child
# Out of memory (oom_kill_allocating_task): Kill process 6608 (top) score 0 or sacrifice child
# Out of memory: kill process 2966 (x-session-manag) score 75994 or a child        (<= 2.6.35)
# Out of memory: Kill process 1267 (gdm-simple-gree) with score 2 or sacrifice child  (2.6.34-mm)
# Out of Memory: Kill process 6350 (apache2) score 82992 and children.              (2.6.1x)
# The comm may hold ")" and spaces: anchor on the " score " that follows it.
SELECTION = re.compile(
    r"^(?P<prefix>[A-Za-z][\w ()]*?): [Kk]ill process (?P<pid>\d+) \((?P<comm>.*)\) "
    r"(?:with )?score (?P<score>-?\d+)"
)
# Killed process 3091 (ssh-agent)                                                    (2.6.32)
# Killed process 24387 (stress) total-vm:519484kB, anon-rss:102224kB, file-rss:212kB
# Out of memory: Killed process 1987 (python3) total-vm:24410524kB, anon-rss:...,
#   shmem-rss:0kB, UID:0 pgtables:47808kB oom_score_adj:0                           (5.4+)
# Killed process 6608, UID 500, (top) total-vm:15028kB, ...                          (RHEL 6)
# Killed process 3161 (mysqld), UID 0, total-vm:493444kB, ...                        (RHEL 7)
# Out of memory: Killed process 6350 (apache2).                                      (2.6.1x)
# Killed process 1201 (sshd) vsz:..kB, anon-rss:..kB, file-rss:..kB                   (2.6.33-35)
KILLED = re.compile(
    r"^(?:(?P<prefix>[A-Za-z][\w ()]*?): )?Killed process (?P<pid>\d+)"
    r"(?:, UID (?P<uid6>\d+),)? \((?P<comm>.*?)\)(?P<rest>(?:,? (?:UID|total-vm|vsz)[ :].*|\.)?)\s*$"
)
KILL_FIELD = re.compile(
    r"(?P<key>total-vm|vsz|anon-rss|file-rss|shmem-rss|pgtables|UID|oom_score_adj)[: ]"
    r"(?P<val>-?\d+)(?:kB)?"
)
# Kill process 2978 (chrome) sharing same memory                                   (2.6.37-4.5)
SHARING = re.compile(r"^Kill process (?P<pid>\d+) \((?P<comm>.*)\) sharing same memory$")
# Memory cgroup out of memory: OOM victim 123 (x) is already exiting. Skip killing the task (5.1+)
ALREADY_EXITING = re.compile(r"OOM victim (?P<pid>\d+) \((?P<comm>.*)\) is already exiting")
# oom_reaper: reaped process 4358 (bash), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB
REAPED = re.compile(
    r"^oom_reaper: reaped process (?P<pid>\d+) \((?P<comm>.*)\), now anon-rss:(?P<anon>\d+)kB, "
    r"file-rss:(?P<file>\d+)kB(?:, shmem-rss:(?P<shmem>\d+)kB)?"
)
# oom_reaper: unable to reap pid:123 (x)
REAP_FAILED = re.compile(r"^oom_reaper: unable to reap pid:(?P<pid>\d+) \((?P<comm>.*)\)")
# Out of memory and no killable processes...
NO_KILLABLE = re.compile(r"Out of memory and no killable processes")
# Kernel panic - not syncing: Out of memory: system-wide panic_on_oom is enabled
# Kernel panic - not syncing: System is deadlocked on memory
PANIC = re.compile(r"^Kernel panic - not syncing: (?P<msg>.*?)\s*$")
PANIC_END = re.compile(r"^---\[ end Kernel panic")
# oom_kill_process: 3 callbacks suppressed        printk: 12 messages suppressed.  (2.6.x)
SUPPRESSED = re.compile(
    r"^(?:oom_kill_process: (?P<n>\d+) callbacks suppressed|"
    r"printk: (?P<m>\d+) messages suppressed\.?)$"
)
# COMPACTION is disabled!!!    (order > 0 without CONFIG_COMPACTION, 4.7+)
COMPACTION = re.compile(r"^COMPACTION is disabled!!!$")
# oom killer 1 (init) has mm pinned by 123 (x)
MM_PINNED = re.compile(r"^oom killer \d+ \(.*\) has mm pinned by")
# sysrq: OOM request ignored. No task eligible
SYSRQ_IGNORED = re.compile(r"OOM request ignored")
# Tainted: [P]=PROPRIETARY_MODULE, [O]=OOT_MODULE   (6.12+ taint description)
TAINT_DESC = re.compile(r"^Tainted: (?:\[[A-Z]\]=\w+(?:, )?)+$")
