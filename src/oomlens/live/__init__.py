"""The live edge: this machine's /proc and kernel log, as they are now.

- `proc`: every process with the kernel's `oom_score` beside our `oom_badness()` estimate,
  and who the OOM killer would pick now, system-wide and in each limited memory cgroup;
- `kmsg`: follow /dev/kmsg (or `journalctl -kf -o json`), one record at a time, with gaps
  reported;
- `watch`: completed OOM events as they happen → output, history store, hooks (`hooks`),
  Prometheus metrics (`metrics`);
- `badness`: the 5.9+ `oom_badness()` and `/proc/PID/oom_score` arithmetic (no I/O);
- `scores_view`: `oomlens scores` as text or JSON.
"""
