/* oomlens report page: draws the embedded JSON document (schema 1).
 *
 * Everything shown comes from log text, which an attacker controls (a process may give itself
 * a name that is HTML markup): the DOM is built with createElement/textContent/setAttribute
 * only, never from HTML strings, and no attribute named on* is ever set. Charts are SVG.
 * Sections, in page order: helpers, formatting, the report (header, answers, findings, memory,
 * processes, replay, zones, tasks, raw log), several events (timeline, picker), the web app.
 */
(function () {
  "use strict";

  // ---------------------------------------------------------------------------------------
  // DOM helpers

  var SVGNS = "http://www.w3.org/2000/svg";

  function setAttrs(el, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "on") {
        Object.keys(v).forEach(function (type) { el.addEventListener(type, v[type]); });
        return;
      }
      if (/^on/i.test(k) || k === "style") throw new Error("refused attribute " + k);
      el.setAttribute(k, v === true ? "" : String(v));
    });
  }

  function append(el, kids) {
    kids.forEach(function (kid) {
      if (kid === null || kid === undefined || kid === false) return;
      if (Array.isArray(kid)) append(el, kid);
      else if (typeof kid === "string" || typeof kid === "number") {
        el.appendChild(document.createTextNode(String(kid)));
      } else el.appendChild(kid);
    });
    return el;
  }

  function h(tag, attrs) {
    var el = document.createElement(tag);
    setAttrs(el, attrs);
    return append(el, Array.prototype.slice.call(arguments, 2));
  }

  function s(tag, attrs) {
    var el = document.createElementNS(SVGNS, tag);
    setAttrs(el, attrs);
    return append(el, Array.prototype.slice.call(arguments, 2));
  }

  function svgRoot(width, height, label) {
    return s("svg", {
      width: width, height: height, viewBox: "0 0 " + width + " " + height,
      role: "img", "aria-label": label,
    });
  }

  /* A chart holder that draws at its real width and redraws when that changes. */
  function chart(cls, draw) {
    var holder = h("div", { class: "chart " + cls });
    var last = -1;
    function redraw() {
      var w = Math.floor(holder.clientWidth);
      if (w < 40 || Math.abs(w - last) < 2) return;
      last = w;
      holder.replaceChildren(draw(w));
    }
    if (typeof ResizeObserver === "function") new ResizeObserver(redraw).observe(holder);
    else window.setTimeout(redraw, 0);
    return holder;
  }

  function section(id, title, note) {
    var sec = h("section", { class: "card", id: id, "aria-labelledby": id + "-h" },
      h("h2", { id: id + "-h" }, title));
    if (note) sec.appendChild(h("p", { class: "note" }, note));
    return sec;
  }

  // ---------------------------------------------------------------------------------------
  // Formatting: human units everywhere, the raw figure in a tooltip.

  function humanKb(kb) {
    if (kb === null || kb === undefined || isNaN(kb)) return "?";
    if (kb >= Math.pow(2, 50)) return "unlimited";
    var units = ["KiB", "MiB", "GiB", "TiB"];
    var v = Number(kb);
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(v) < 1024 || i === units.length - 1) {
        if (i === 0) return Math.round(v) + " KiB";
        return (v < 100 ? v.toFixed(1) : v.toFixed(0)) + " " + units[i];
      }
      v /= 1024;
    }
    return "?";
  }

  function num(n) {
    return n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US");
  }

  function pct(part, whole) {
    if (!whole) return "";
    var p = (100 * part) / whole;
    if (p > 0 && p < 1) return "<1%";
    return Math.round(p) + "%";
  }

  function clip(text, n) {
    text = String(text === null || text === undefined ? "?" : text);
    return text.length > n ? text.slice(0, n - 1) + "…" : text;
  }

  function when(ev) {
    var parts = [];
    if (ev.time) parts.push(ev.time.replace("T", " ") + (ev.time_year_guessed ? " (year assumed)" : ""));
    if (ev.uptime_s !== null && ev.uptime_s !== undefined) {
      parts.push("uptime " + uptime(ev.uptime_s));
    }
    return parts.join(" · ");
  }

  function uptime(sec) {
    if (sec < 120) return sec.toFixed(1) + " s";
    var d = Math.floor(sec / 86400), hh = Math.floor((sec % 86400) / 3600);
    var mm = Math.floor((sec % 3600) / 60);
    if (d) return d + "d " + hh + "h";
    if (hh) return hh + "h " + mm + "m";
    return mm + "m " + Math.round(sec % 60) + "s";
  }

  var SCOPES = {
    system: "System-wide OOM", memcg: "Memory cgroup OOM", cpuset: "cpuset OOM",
    mempolicy: "Mempolicy OOM", manual: "Manual OOM (SysRq-f)",
  };

  function victimText(ev) {
    var v = ev.victim;
    if (v) return "killed " + v.comm + " (pid " + v.pid + ")";
    if (ev.panic) return "kernel panic";
    if (ev.no_killable) return "no killable process";
    return "no kill line in the log";
  }

  // ---------------------------------------------------------------------------------------
  // One event: header and facts

  var ANSWER_ORDER = ["scope", "consumers", "swap", "thrashing", "prevention"];

  function evidenceChips(lines, jump) {
    if (!lines || !lines.length) return null;
    return h("div", { class: "evidence" }, h("span", { class: "muted" }, "evidence"),
      lines.map(function (n) {
        return h("button", {
          type: "button", class: "chip", title: "show line " + n + " in the log",
          on: { click: function () { jump(n); } },
        }, "line " + n);
      }));
  }

  function header(ev, index, count) {
    var title = (SCOPES[ev.scope] || "OOM") + ": " + victimText(ev);
    var meta = [when(ev), ev.host && "host " + ev.host, ev.kernel && "kernel " + ev.kernel,
      ev.source + " lines " + ev.lines.first + "–" + ev.lines.last].filter(Boolean);
    var warn = [];
    if (!ev.complete && ev.missing && ev.missing.length) {
      warn.push("Incomplete report: missing " + ev.missing.join(", ") + ".");
    }
    if (ev.headerless) warn.push("The kill came without its report (rate-limited or cut).");
    if (ev.unparsed_lines) {
      warn.push(ev.unparsed_lines + " line(s) inside the report were not recognised.");
    }
    return h("header", { class: "verdict" },
      count > 1 ? h("p", { class: "eyebrow" }, "Event " + (index + 1) + " of " + count) : null,
      h("h1", null, title),
      h("p", { class: "meta" }, meta.join(" · ")),
      ev.panic ? h("p", { class: "banner error" }, "Kernel panic: " + ev.panic) : null,
      warn.length ? h("div", { class: "banner" }, warn.length === 1 ? warn[0]
        : h("ul", null, warn.map(function (w) { return h("li", null, w); }))) : null);
  }

  function facts(ev, a) {
    var rows = [];
    var v = ev.victim;
    if (v) {
      var kinds = [["anon", v.anon_rss_kb], ["file", v.file_rss_kb], ["shmem", v.shmem_rss_kb]]
        .filter(function (p) { return p[1] !== null && p[1] !== undefined; })
        .map(function (p) { return p[0] + " " + humanKb(p[1]); });
      rows.push(["Killed", v.comm + " (pid " + v.pid + ")" +
        (kinds.length ? " · " + kinds.join(", ") : "") +
        (v.oom_score_adj !== null && v.oom_score_adj !== undefined
          ? " · oom_score_adj " + v.oom_score_adj : "")]);
    }
    var t = ev.trigger;
    if (t) {
      var gfp = t.gfp_flags && t.gfp_flags.length ? t.gfp_flags.join("|") : t.gfp_mask;
      rows.push(["Trigger", (t.comm || "?") + (t.pid !== null ? " (pid " + t.pid + ")" : "") +
        " · order " + (t.order === null ? "?" : t.order) + (gfp ? " · " + gfp : "")]);
    }
    if (ev.memcg) rows.push(["Cgroup", ev.memcg]);
    (ev.memcg_counters || []).forEach(function (c) {
      if (c.name !== "memory") return;
      rows.push(["Limit", humanKb(c.usage_kb) + " used of " + humanKb(c.limit_kb) +
        (c.failcnt !== null ? " · failcnt " + num(c.failcnt) : "")]);
    });
    if (ev.swap && ev.swap.total_kb !== null && ev.swap.total_kb !== undefined) {
      rows.push(["Swap", ev.swap.total_kb === 0 ? "none configured"
        : humanKb(ev.swap.free_kb) + " free of " + humanKb(ev.swap.total_kb)]);
    }
    (ev.also_killed || []).forEach(function (k) {
      rows.push(["Also killed", k.comm + " (pid " + k.pid + ")"]);
    });
    if (ev.reaped) {
      rows.push(["oom_reaper", ev.reaped.success
        ? "reaped " + ev.reaped.comm + ", now anon-rss " + humanKb(ev.reaped.anon_rss_kb)
        : "unable to reap " + ev.reaped.comm]);
    }
    if (a.page_size_kb) rows.push(["Page size", a.page_size_kb + " KiB (" + a.page_size_source + ")"]);
    var sec = section("details", "Event details");
    sec.appendChild(h("dl", { class: "facts" }, rows.map(function (r) {
      return h("div", null, h("dt", null, r[0]), h("dd", null, r[1]));
    })));
    return sec;
  }

  function answers(a, jump) {
    var got = a.answers || {};
    var keys = ANSWER_ORDER.filter(function (k) { return got[k]; })
      .concat(Object.keys(got).filter(function (k) { return ANSWER_ORDER.indexOf(k) < 0; }));
    if (!keys.length) return null;
    return h("section", { class: "card answers", id: "answers", "aria-label": "The five answers" },
      keys.map(function (k, i) {
        var ans = got[k];
        return h("article", { class: "answer a-" + k },
          h("h3", null, h("span", { class: "num" }, String(i + 1)), ans.question),
          h("div", { class: "body" },
            h("p", { class: "summary" }, ans.summary),
            ans.details && ans.details.length
              ? h("ul", null, ans.details.map(function (d) { return h("li", null, d); })) : null,
            evidenceChips(ans.evidence, jump)));
      }));
  }

  function findings(a, jump, focus) {
    var list = a.findings || [];
    if (!list.length) return null;
    var sec = section("findings", "Findings", "Patterns oomlens recognised, with the lines they rest on.");
    list.forEach(function (f) {
      sec.appendChild(h("article", { class: "finding sev-" + f.severity },
        h("div", { class: "frow" },
          h("span", { class: "sev" }, f.severity),
          h("code", null, f.rule),
          f.confidence ? h("span", { class: "muted" }, f.confidence + " confidence") : null),
        h("p", { class: "summary" }, f.summary),
        f.advice && f.advice.length
          ? h("ul", null, f.advice.map(function (d) { return h("li", null, d); })) : null,
        f.evidence && f.evidence.length ? h("div", { class: "evidence" },
          h("button", { type: "button", class: "chip strong",
            on: { click: function () { focus(f.evidence); } } }, "highlight evidence"),
          f.evidence.map(function (n) {
            return h("button", { type: "button", class: "chip",
              on: { click: function () { jump(n); } } }, "line " + n);
          })) : null));
    });
    return sec;
  }

  // ---------------------------------------------------------------------------------------
  // Memory breakdown: one stacked bar against RAM or the cgroup limit

  var PART_CLASS = {
    "anon": "c-anon", "page cache": "c-cache", "shmem": "c-shmem",
    "slab reclaimable": "c-slabr", "slab unreclaimable": "c-slabu", "slab (all)": "c-slabr",
    "page tables": "c-pt", "kernel stack": "c-kstack", "sock": "c-sock", "free": "c-free",
  };

  function partClass(name) {
    if (PART_CLASS[name]) return PART_CLASS[name];
    return name.indexOf("other") === 0 ? "c-other" : "c-misc";
  }

  function breakdown(a) {
    var parts = (a.breakdown || []).filter(function (p) { return p.kb > 0; });
    if (!parts.length) return null;
    var sum = parts.reduce(function (t, p) { return t + p.kb; }, 0);
    var total = a.total_kb || 0;
    var scale = Math.max(sum, total);
    var label = a.total_label || "total";
    var sec = section("memory", "Memory breakdown",
      total ? "What held the memory, against the " + label + " (" + humanKb(total) + ")."
        : "What held the memory.");
    sec.appendChild(chart("breakdown", function (w) {
      var bh = 34, svg = svgRoot(w, bh + 22, "memory by kind");
      svg.appendChild(s("rect", { x: 0, y: 0, width: w, height: bh, rx: 4, class: "track" }));
      var x = 0;
      parts.forEach(function (p) {
        var pw = (p.kb / scale) * w;
        svg.appendChild(s("rect", { x: x, y: 0, width: Math.max(pw - 1, 0.5), height: bh,
          class: partClass(p.name) }, s("title", null, p.name + ": " + humanKb(p.kb))));
        var text = p.name + " " + humanKb(p.kb);
        if (pw > 40) {
          svg.appendChild(s("text", { x: x + 6, y: bh / 2 + 4, class: "inbar" },
            text.length * 7 < pw - 8 ? text : clip(p.name, Math.floor((pw - 8) / 7))));
        }
        x += pw;
      });
      if (total && sum > total) {
        var lx = (total / scale) * w;
        svg.appendChild(s("line", { x1: lx, x2: lx, y1: -2, y2: bh + 4, class: "limit" }));
      }
      svg.appendChild(s("text", { x: 0, y: bh + 16, class: "axis" }, "0"));
      svg.appendChild(s("text", { x: w, y: bh + 16, class: "axis end" },
        (total ? label + " " + humanKb(total) : humanKb(sum))));
      return svg;
    }));
    var legend = h("table", { class: "legend" },
      h("thead", null, h("tr", null, h("th", null, "kind"), h("th", { class: "r" }, "size"),
        h("th", { class: "r" }, total ? "of " + label : "share"))));
    var body = h("tbody");
    parts.forEach(function (p) {
      body.appendChild(h("tr", null,
        h("td", null, h("span", { class: "swatch " + partClass(p.name) }), p.name),
        h("td", { class: "r", title: num(p.kb) + " kB" }, humanKb(p.kb)),
        h("td", { class: "r" }, pct(p.kb, total || sum))));
    });
    legend.appendChild(body);
    sec.appendChild(legend);
    return sec;
  }

  // ---------------------------------------------------------------------------------------
  // Top processes by rss, anon/file/shmem stacked where the table has them

  function consumers(a) {
    var rows = a.consumers || [];
    if (!rows.length) return null;
    var split = rows.every(function (c) { return c.anon_kb !== null && c.file_kb !== null; });
    var swap = rows.some(function (c) { return c.swap_kb; });
    var max = Math.max.apply(null, rows.map(function (c) { return c.rss_kb + (c.swap_kb || 0); }));
    var sec = section("processes", "Top processes by resident memory",
      "The victim is marked. " + (split ? "Bars split into anon, file and shmem pages. " : "") +
      (swap ? "The hatched part is swapped out." : ""));
    var keys = [];
    if (split) keys.push(["c-anon", "anon"], ["c-cache", "file"], ["c-shmem", "shmem"]);
    else keys.push(["c-rss", "resident"]);
    if (swap) keys.push(["c-swap", "swapped out"]);
    keys.push(["c-victim", "killed"]);
    sec.appendChild(h("div", { class: "keys" }, keys.map(function (k) {
      return h("span", null, h("span", { class: "swatch " + k[0] }), k[1]);
    })));
    sec.appendChild(chart("bars", function (w) {
      var narrow = w < 560, labelW = narrow ? 0 : Math.min(210, Math.floor(w * 0.3));
      var valueW = narrow ? 0 : 150, rowH = narrow ? 40 : 26, barH = narrow ? 14 : 16;
      var barW = Math.max(w - labelW - valueW - 8, 40);
      var svg = svgRoot(w, rows.length * rowH + 6, "top processes by resident memory");
      svg.appendChild(s("defs", null, s("pattern", { id: "hatch", width: 6, height: 6,
        patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
        s("rect", { width: 6, height: 6, class: "hatch-bg" }),
        s("line", { x1: 0, y1: 0, x2: 0, y2: 6, class: "hatch-line" }))));
      rows.forEach(function (c, i) {
        var y = i * rowH + (narrow ? 18 : 5);
        var name = clip(c.comm, narrow ? 34 : 24) + " [" + c.pid + "]";
        var value = humanKb(c.rss_kb) + (c.swap_kb ? " + " + humanKb(c.swap_kb) + " swap" : "");
        var g = s("g", { class: c.victim ? "row victim" : "row" },
          s("title", null, c.comm + " [" + c.pid + "]: " + humanKb(c.rss_kb) + " resident" +
            (c.swap_kb ? ", " + humanKb(c.swap_kb) + " swapped out" : "") +
            (c.oom_score_adj !== null ? ", oom_score_adj " + c.oom_score_adj : "")));
        if (narrow) {
          g.appendChild(s("text", { x: 0, y: y - 5, class: "label" },
            (c.victim ? "✕ " : "") + name));
          g.appendChild(s("text", { x: w, y: y - 5, class: "value end" }, value));
        } else {
          g.appendChild(s("text", { x: labelW - 8, y: y + barH - 4, class: "label end" },
            (c.victim ? "✕ " : "") + name));
        }
        var x = labelW;
        var segs = split
          ? [["c-anon", c.anon_kb], ["c-cache", c.file_kb], ["c-shmem", c.shmem_kb || 0]]
          : [[c.victim ? "c-victim" : "c-rss", c.rss_kb]];
        if (c.swap_kb) segs.push(["c-swap", c.swap_kb]);
        segs.forEach(function (sg) {
          var sw = (sg[1] / max) * barW;
          if (sw <= 0) return;
          g.appendChild(s("rect", { x: x, y: y, width: Math.max(sw, 1), height: barH,
            class: sg[0], fill: sg[0] === "c-swap" ? "url(#hatch)" : null }));
          x += sw;
        });
        if (c.victim) {
          g.appendChild(s("rect", { x: labelW - 2, y: y - 2, width: x - labelW + 4,
            height: barH + 4, rx: 3, class: "victim-ring" }));
        }
        if (!narrow) g.appendChild(s("text", { x: x + 6, y: y + barH - 4, class: "value" }, value));
        svg.appendChild(g);
      });
      return svg;
    }));
    return sec;
  }

  // ---------------------------------------------------------------------------------------
  // The victim replay: how the kernel's oom_badness() ranks the tasks

  function replay(a) {
    var r = a.replay;
    if (!r || !r.candidates || !r.candidates.length) return null;
    var verdict = r.matches_kernel === true ? ["ok", "✓ same victim as the kernel"]
      : r.matches_kernel === false ? ["bad", "✗ differs from the kernel"]
        : ["unknown", "cannot be judged"];
    var sec = section("replay", "Victim replay",
      "The kernel's oom_badness() rules for " + r.era + ", replayed on the task table" +
      (r.totalpages ? " (totalpages " + num(r.totalpages) + ", " + r.totalpages_source + ")." : "."));
    sec.appendChild(h("p", { class: "replay-verdict" },
      h("span", { class: "tag big " + verdict[0] }, verdict[1]), " ", r.reason));
    if (r.why_not_runner_up) sec.appendChild(h("p", null, r.why_not_runner_up));
    var max = Math.max.apply(null, r.candidates.map(function (c) { return Math.max(c.points, 0); }));
    var pageKb = a.page_size_kb || 4;
    var body = h("tbody");
    r.candidates.forEach(function (c, i) {
      var tags = [];
      if (c.pid === r.actual_pid) tags.push(h("span", { class: "tag killed" }, "killed"));
      if (c.pid === r.predicted_pid) tags.push(h("span", { class: "tag predicted" }, "predicted"));
      var bar = s("svg", { class: "minibar", viewBox: "0 0 100 8", preserveAspectRatio: "none",
        "aria-hidden": "true" },
        s("rect", { x: 0, y: 0, width: 100, height: 8, class: "track" }),
        s("rect", { x: 0, y: 0, width: max > 0 ? Math.max(0, (100 * c.points) / max) : 0,
          height: 8, class: c.pid === r.actual_pid ? "c-victim" : "c-rss" }));
      body.appendChild(h("tr", { class: c.eligible ? null : "ineligible" },
        h("td", { class: "r" }, String(i + 1)),
        h("td", null, c.comm + " [" + c.pid + "] ", tags),
        h("td", { class: "pts", title: r.era.indexOf("pages") >= 0
          ? "≈ " + humanKb(c.points * pageKb) + " of memory, oom_score_adj included" : null },
        bar, h("span", null, num(c.points))),
        h("td", { class: "r" }, num(c.score_per_mille)),
        h("td", { class: "r" }, c.oom_score_adj === null ? "–" : String(c.oom_score_adj)),
        h("td", { class: "muted" }, c.note || (c.eligible ? "" : "not eligible"))));
    });
    sec.appendChild(h("div", { class: "scroll-x" }, h("table", { class: "grid replay-table" },
      h("thead", null, h("tr", null, h("th", { class: "r" }, "#"), h("th", null, "process"),
        h("th", null, "badness"), h("th", { class: "r", title: "points × 1000 / totalpages" }, "score ‰"),
        h("th", { class: "r" }, "adj"), h("th", null, "note"))), body)));
    return sec;
  }

  // ---------------------------------------------------------------------------------------
  // Zones: free against the min/low/high watermarks, and the buddy free lists per order

  function zoneStatus(f) {
    if (f.free === undefined || f.min === undefined) return null;
    if (f.free < f.min) return ["bad", "below min"];
    if (f.low !== undefined && f.free < f.low) return ["warn", "below low"];
    if (f.high !== undefined && f.free < f.high) return ["warn", "below high"];
    return ["ok", "above high"];
  }

  function orderLabel(kb) {
    return kb >= 1024 ? kb / 1024 + "M" : kb + "K";
  }

  function zones(ev) {
    var list = (ev.zones || []).filter(function (z) {
      var f = z.fields_kb || {};
      return (f.managed === undefined || f.managed > 0) && (f.present === undefined || f.present > 0);
    });
    if (!list.length) return null;
    var order = ev.trigger && ev.trigger.order > 0 ? ev.trigger.order : 0;
    var sec = section("zones", "Zones and free lists",
      "Free memory per zone against its watermarks (the kernel reclaims below low and can " +
      "only allocate for itself below min), and where the free memory lies by block size." +
      (order ? " The allocation needed order " + order + " (" + orderLabel(4 << order) +
        " blocks): lower orders do not help it." : ""));
    var grid = h("div", { class: "zones" });
    list.forEach(function (z) {
      var f = z.fields_kb;
      var st = zoneStatus(f);
      var card = h("article", { class: "zone" },
        h("h3", null, (z.node !== null ? "Node " + z.node + " · " : "") + z.name,
          st ? h("span", { class: "tag " + st[0] }, st[1]) : null),
        h("p", { class: "muted" }, ["free", "min", "low", "high", "managed"]
          .filter(function (k) { return f[k] !== undefined; })
          .map(function (k) { return k + " " + humanKb(f[k]); }).join(" · ")));
      if (f.free !== undefined && f.high !== undefined) card.appendChild(watermarks(f, st));
      if (z.free_areas && z.free_areas.length) {
        card.appendChild(h("p", { class: "muted caption" },
          "Free blocks per size (count above; height = memory in that size)"));
        card.appendChild(buddy(z, order));
      }
      grid.appendChild(card);
    });
    sec.appendChild(grid);
    return sec;
  }

  function watermarks(f, st) {
    return chart("wm", function (w) {
      var bh = 16, svg = svgRoot(w, bh + 34, "free memory against the watermarks");
      var scale = Math.max(f.free, f.high) * 1.25 || 1;
      var x = function (kb) { return (kb / scale) * (w - 2); };
      svg.appendChild(s("rect", { x: 0, y: 12, width: w, height: bh, rx: 3, class: "track" }));
      svg.appendChild(s("rect", { x: 0, y: 12, width: Math.max(x(f.free), 1), height: bh, rx: 3,
        class: "free-" + (st ? st[0] : "ok") }, s("title", null, "free " + humanKb(f.free))));
      var lastX = -99;
      [["min", f.min], ["low", f.low], ["high", f.high]].forEach(function (m) {
        if (m[1] === undefined) return;
        var mx = x(m[1]);
        svg.appendChild(s("line", { x1: mx, x2: mx, y1: 8, y2: bh + 16, class: "mark mark-" + m[0] },
          s("title", null, m[0] + " " + humanKb(m[1]))));
        var tx = Math.min(Math.max(mx, lastX + 28, 12), w - 14);
        svg.appendChild(s("text", { x: tx, y: bh + 28, class: "axis mid" }, m[0]));
        lastX = tx;
      });
      svg.appendChild(s("text", { x: 0, y: 8, class: "axis" }, "free " + humanKb(f.free)));
      return svg;
    });
  }

  function buddy(z, order) {
    var areas = z.free_areas;
    var kbs = areas.map(function (fa) { return fa.count * fa.size_kb; });
    var max = Math.max.apply(null, kbs.concat([1]));
    return chart("buddy", function (w) {
      var ch = 64, svg = svgRoot(w, ch + 34, "buddy free lists by order");
      var cw = w / areas.length;
      areas.forEach(function (fa, i) {
        var bh = kbs[i] ? Math.max((kbs[i] / max) * ch, 2) : 0;
        var cls = i < order ? "c-order-low" : "c-order";
        var x = i * cw + 2;
        svg.appendChild(s("rect", { x: x, y: 12 + ch - bh, width: Math.max(cw - 4, 1), height: bh,
          class: cls }, s("title", null, "order " + i + " (" + orderLabel(fa.size_kb) + "): " +
            num(fa.count) + " free blocks = " + humanKb(kbs[i]) + (fa.types ? " [" + fa.types + "]" : ""))));
        svg.appendChild(s("text", { x: x + (cw - 4) / 2, y: 12 + ch - bh - 3, class: "axis mid tiny" },
          fa.count ? compact(fa.count) : "0"));
        svg.appendChild(s("text", { x: x + (cw - 4) / 2, y: ch + 26, class: "axis mid tiny" },
          orderLabel(fa.size_kb)));
      });
      return svg;
    });
  }

  function compact(n) {
    if (n >= 1e6) return (n / 1e6).toFixed(1) + "M";
    if (n >= 1e4) return Math.round(n / 1e3) + "k";
    return String(n);
  }

  // ---------------------------------------------------------------------------------------
  // The task table: sortable, filterable, memory in human units

  var PAGE_COLS = ["total_vm", "rss", "rss_anon", "rss_file", "rss_shmem", "nr_ptes", "nr_pmds",
    "swapents"];

  function taskKb(col, v, pageKb) {
    if (v === null || v === undefined) return null;
    if (col === "pgtables_bytes") return v / 1024;
    return PAGE_COLS.indexOf(col) >= 0 ? v * pageKb : null;
  }

  function tasks(ev, a) {
    var rows = ev.tasks || [];
    if (!rows.length) return null;
    var pageKb = a.page_size_kb || 4;
    var cols = ["name", "pid"].concat((ev.task_columns || []).filter(function (c) {
      return c !== "name" && c !== "pid";
    }));
    var victim = ev.victim ? ev.victim.pid : null;
    var trig = ev.trigger ? ev.trigger.pid : null;
    var sec = section("tasks", "Tasks (" + rows.length + ")",
      "The kernel's task table. Memory columns are converted from " + pageKb +
      " KiB pages (pgtables from bytes); hover a cell for the printed value. Click a heading to sort.");
    var input = h("input", { type: "search", placeholder: "Filter by name, pid or uid",
      "aria-label": "filter tasks", class: "filter", id: "task-filter" });
    var count = h("span", { class: "muted count" });
    sec.appendChild(h("div", { class: "toolbar" }, input, count));
    var sortCol = cols.indexOf("rss") >= 0 ? "rss" : "pid", desc = sortCol === "rss";
    var heads = {};
    var tr = h("tr");
    cols.forEach(function (c) {
      var b = h("button", { type: "button", on: { click: function () {
        if (sortCol === c) desc = !desc; else { sortCol = c; desc = c !== "name"; }
        sort();
      } } }, c);
      heads[c] = h("th", { class: c === "name" ? null : "r", scope: "col", "data-col": c }, b);
      tr.appendChild(heads[c]);
    });
    var body = h("tbody");
    var trs = rows.map(function (t) {
      var row = h("tr", { class: t.pid === victim ? "victim" : null, "data-pid": t.pid });
      row._task = t;
      row._text = (t.name + " " + t.pid + " " + (t.uid === undefined ? "" : t.uid)).toLowerCase();
      cols.forEach(function (c) {
        var v = t[c];
        if (c === "name") {
          row.appendChild(h("td", { class: "name" }, clip(v, 48),
            t.pid === victim ? h("span", { class: "tag killed" }, "killed") : null,
            t.pid === trig && trig !== victim ? h("span", { class: "tag" }, "trigger") : null));
          return;
        }
        var kb = taskKb(c, v, pageKb);
        row.appendChild(h("td", { class: "r", title: kb !== null ? num(v) + (c === "pgtables_bytes" ? " bytes" : " pages") : null },
          kb !== null ? humanKb(kb) : v === null || v === undefined ? "–" : String(v)));
      });
      return row;
    });
    function sort() {
      var sign = desc ? -1 : 1;
      trs.sort(function (x, y) {
        var p = x._task[sortCol], q = y._task[sortCol];
        if (p === q) return x._task.pid - y._task.pid;
        if (p === null || p === undefined) return 1;
        if (q === null || q === undefined) return -1;
        if (typeof p === "string") return sign * p.localeCompare(q);
        return sign * (p - q);
      });
      body.replaceChildren.apply(body, trs);
      Object.keys(heads).forEach(function (c) {
        if (c === sortCol) heads[c].setAttribute("aria-sort", desc ? "descending" : "ascending");
        else heads[c].removeAttribute("aria-sort");
      });
    }
    function filter() {
      var q = input.value.trim().toLowerCase(), shown = 0;
      trs.forEach(function (row) {
        var hit = !q || row._text.indexOf(q) >= 0;
        row.hidden = !hit;
        if (hit) shown++;
      });
      count.textContent = q ? shown + " of " + rows.length + " shown" : rows.length + " tasks";
    }
    input.addEventListener("input", filter);
    sort();
    filter();
    sec.appendChild(h("div", { class: "table-box" },
      h("table", { class: "grid tasks" }, h("thead", null, tr), body)));
    return sec;
  }

  // ---------------------------------------------------------------------------------------
  // The raw report, evidence lines marked

  function rawLog(ev, a) {
    var raw = ev.raw || [];
    if (!raw.length) {
      return { sec: null, has: function () { return false; }, jump: function () {}, focus: function () {} };
    }
    var cites = {};
    function cite(n, label) { (cites[n] = cites[n] || []).push(label); }
    var got = a.answers || {};
    Object.keys(got).forEach(function (k) {
      (got[k].evidence || []).forEach(function (n) { cite(n, k); });
    });
    (a.findings || []).forEach(function (f) {
      (f.evidence || []).forEach(function (n) { cite(n, f.rule); });
    });
    var byLine = {};
    var box = h("div", { class: "log", role: "list" });
    raw.forEach(function (ln) {
      var tags = cites[ln.line];
      var row = h("div", { class: tags ? "ln ev" : "ln", role: "listitem", id: "L" + ln.line },
        h("span", { class: "no" }, String(ln.line)),
        h("span", { class: "tx" }, ln.text),
        tags ? h("span", { class: "cites" }, tags.join(" · ")) : null);
      byLine[ln.line] = row;
      box.appendChild(row);
    });
    var sec = section("log", "Raw report",
      "The lines oomlens read for this event. Marked lines are cited as evidence.");
    sec.appendChild(box);
    function clear() {
      Array.prototype.forEach.call(box.querySelectorAll(".focus"), function (el) {
        el.classList.remove("focus");
      });
    }
    function reveal(row) {
      row.scrollIntoView({ block: "center", behavior: "smooth" });
    }
    return {
      sec: sec,
      has: function (n) { return Boolean(byLine[n]); },
      jump: function (n) {
        var row = byLine[n];
        if (!row) return;
        clear();
        row.classList.add("focus");
        reveal(row);
      },
      focus: function (lines) {
        clear();
        var first = null;
        lines.forEach(function (n) {
          if (byLine[n]) { byLine[n].classList.add("focus"); first = first || byLine[n]; }
        });
        if (first) reveal(first);
      },
    };
  }

  // ---------------------------------------------------------------------------------------
  // Several events: a timeline and a picker

  function eventTimes(events) {
    if (events.every(function (e) { return e.time && !isNaN(Date.parse(e.time)); })) {
      return { kind: "time", v: events.map(function (e) { return Date.parse(e.time); }) };
    }
    if (events.every(function (e) { return e.uptime_s !== null && e.uptime_s !== undefined; })) {
      return { kind: "uptime", v: events.map(function (e) { return e.uptime_s * 1000; }) };
    }
    return { kind: "index", v: events.map(function (_e, i) { return i; }) };
  }

  function freed(e) {
    return e.victim ? (e.victim.anon_rss_kb || 0) + (e.victim.file_rss_kb || 0) +
      (e.victim.shmem_rss_kb || 0) : 0;
  }

  function tickLabel(kind, v, span) {
    if (kind === "index") return "#" + (Math.round(v) + 1);
    if (kind === "uptime") {
      return span < 600000 ? (v / 1000).toFixed(span < 10000 ? 3 : 1) + " s" : uptime(v / 1000);
    }
    var d = new Date(v), p = function (n) { return (n < 10 ? "0" : "") + n; };
    var hm = p(d.getHours()) + ":" + p(d.getMinutes()) + (span < 600000 ? ":" + p(d.getSeconds()) : "");
    return span > 86400000 ? d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) +
      (span < 30 * 86400000 ? " " + hm : "") : hm;
  }

  /* "memcg ×6, system ×1 · victims: framework ×7": what repeats across the events. */
  function tally(events) {
    function count(key) {
      var n = {};
      events.forEach(function (e) { var k = key(e); n[k] = (n[k] || 0) + 1; });
      return Object.keys(n).sort(function (a, b) { return n[b] - n[a]; })
        .map(function (k) { return k + " ×" + n[k]; });
    }
    var victims = count(function (e) { return e.victim ? e.victim.comm : "no victim"; });
    return count(function (e) { return e.scope || "unknown scope"; }).join(", ") +
      " · victims: " + victims.slice(0, 4).join(", ") + (victims.length > 4 ? ", …" : "");
  }

  /* Cross-event patterns (analysis of the whole input): the same cgroup or process again. */
  function recurring(list) {
    if (!list.length) return null;
    var what = { cgroup: "cgroup", process: "process", host: "host" };
    return h("ul", { class: "recurring" }, list.map(function (r) {
      var every = r.mean_interval_s ? ", about every " + uptime(r.mean_interval_s) : "";
      return h("li", null, h("span", { class: "muted" }, (what[r.kind] || r.kind) + " "),
        h("code", null, r.key), " — " + r.count + " kills" + every,
        r.growing ? h("span", { class: "tag bad" }, "victim memory growing") : null);
    }));
  }

  function timeline(doc, current, select) {
    var events = doc.events;
    var t = eventTimes(events);
    var lo = Math.min.apply(null, t.v), hi = Math.max.apply(null, t.v);
    var maxFreed = Math.max.apply(null, events.map(freed).concat([1]));
    var sel = h("select", { "aria-label": "choose an event", id: "event-picker",
      on: { change: function () { select(Number(sel.value)); } } });
    events.forEach(function (e, i) {
      var at = e.time ? e.time.replace("T", " ") : e.uptime_s !== null && e.uptime_s !== undefined
        ? "uptime " + e.uptime_s.toFixed(3) + " s" : "no time";
      var o = h("option", { value: i }, "#" + (i + 1) + " · " + at + " · " +
        (e.victim ? e.victim.comm + " [" + e.victim.pid + "]" : victimText(e)));
      if (i === current) o.selected = true;
      sel.appendChild(o);
    });
    var prev = h("button", { type: "button", class: "btn", disabled: current === 0,
      "aria-label": "previous event", on: { click: function () { select(current - 1); } } }, "←");
    var next = h("button", { type: "button", class: "btn", disabled: current === events.length - 1,
      "aria-label": "next event", on: { click: function () { select(current + 1); } } }, "→");
    var sec = h("section", { class: "card events", id: "events", "aria-label": "events" },
      h("div", { class: "picker" }, h("div", null, h("h2", null, events.length + " OOM events"),
        h("p", { class: "muted tally" }, tally(events))),
      h("div", { class: "pick" }, prev, sel, next)));
    var patterns = recurring(doc.recurring || []);
    if (patterns) sec.appendChild(patterns);
    sec.appendChild(chart("timeline", function (w) {
      var ht = 110, pad = 14, svg = svgRoot(w, ht + 22, "events over time");
      var x = function (v) { return hi === lo ? w / 2 : pad + ((v - lo) / (hi - lo)) * (w - 2 * pad); };
      var y = function (kb) { return ht - 10 - (kb / maxFreed) * (ht - 42); };
      svg.appendChild(s("line", { x1: 0, x2: w, y1: ht, y2: ht, class: "axisline" }));
      var ticks = Math.max(2, Math.min(6, Math.floor(w / 150))), shown = "";
      for (var k = 0; k <= ticks && hi > lo; k++) {
        var v = lo + ((hi - lo) * k) / ticks, label = tickLabel(t.kind, v, hi - lo);
        if (label === shown) continue; // a short span: say each time once
        shown = label;
        svg.appendChild(s("text", { x: x(v), y: ht + 16,
          class: "axis " + (k === 0 ? "" : k === ticks ? "end" : "mid") }, label));
      }
      svg.appendChild(s("text", { x: 0, y: 10, class: "axis" }, maxFreed > 1
        ? "height: the victim's resident memory at the kill (max " + humanKb(maxFreed) + ")"
        : "no kill lines with memory figures"));
      events.forEach(function (e, i) {
        var cx = x(t.v[i]), cy = y(freed(e));
        var dot = s("circle", { cx: cx, cy: cy, r: i === current ? 8 : 5, tabindex: 0,
          class: "dot s-" + (e.scope || "none") + (i === current ? " current" : ""),
          on: {
            click: function () { select(i); },
            keydown: function (k) { if (k.key === "Enter" || k.key === " ") select(i); },
          } }, s("title", null, "#" + (i + 1) + " " + (when(e) || "") + " — " + victimText(e) +
          (freed(e) ? ", freed " + humanKb(freed(e)) : "")));
        svg.appendChild(s("line", { x1: cx, x2: cx, y1: cy, y2: ht, class: "stem" }));
        svg.appendChild(dot);
      });
      return svg;
    }));
    return sec;
  }

  // ---------------------------------------------------------------------------------------
  // The whole report

  /* Draw event `index` of `doc` into `root`; onSelect(i, line) switches events (and, with
   * `line`, shows that line of the raw report: evidence may sit in an earlier event). */
  function renderReport(root, doc, index, onSelect, line) {
    var events = (doc && doc.events) || [];
    root.replaceChildren();
    if (!events.length) {
      root.appendChild(h("section", { class: "card empty" }, h("h1", null, "No OOM-killer events found"),
        h("p", null, "Nothing in " + ((doc && doc.sources && doc.sources.join(", ")) || "the input") +
          " looks like an OOM-killer report. Was the log rotated? Try journalctl -k, or older files.")));
      document.title = "oomlens: no OOM events";
      return;
    }
    index = Math.min(Math.max(index || 0, 0), events.length - 1);
    var ev = events[index], a = ev.analysis || {};
    document.title = "oomlens: " + (SCOPES[ev.scope] || "OOM") + ", " + victimText(ev);
    if (events.length > 1) root.appendChild(timeline(doc, index, onSelect));
    var log = rawLog(ev, a);
    function jump(n) {
      if (log.has(n)) { log.jump(n); return; }
      for (var i = 0; i < events.length; i++) {
        var e = events[i];
        if (e.source === ev.source && e.lines && e.lines.first <= n && n <= e.lines.last) {
          onSelect(i, n);
          return;
        }
      }
    }
    var parts = [
      header(ev, index, events.length), answers(a, jump), findings(a, jump, log.focus),
      facts(ev, a), breakdown(a), consumers(a), replay(a), zones(ev), tasks(ev, a), log.sec,
    ].filter(Boolean);
    var nav = h("nav", { class: "jump", "aria-label": "sections" });
    parts.forEach(function (p) {
      var title = p.querySelector("h2");
      if (!p.id || !title) return;
      nav.appendChild(h("button", { type: "button", class: "link", on: { click: function () {
        p.scrollIntoView({ block: "start", behavior: "smooth" });
      } } }, title.textContent.replace(/ \(\d+\)$/, "")));
    });
    parts.forEach(function (p, i) {
      root.appendChild(p);
      if (i === 0) root.appendChild(nav);
    });
    if (line) log.jump(line);
  }

  // ---------------------------------------------------------------------------------------
  // Start: a static report (the embedded document) or the web app (documents from the API)

  function readJson(id) {
    var el = document.getElementById(id);
    try { return el ? JSON.parse(el.textContent) : null; } catch (err) { return null; }
  }

  function topbar(extra) {
    return h("div", { class: "topbar" }, h("span", { class: "brand" }, "oomlens"), extra);
  }

  function startStatic(app, doc) {
    var main = h("main");
    var m = /^#event-(\d+)$/.exec(location.hash);
    var index = m ? Number(m[1]) - 1 : 0;
    function select(i, line) {
      index = i;
      renderReport(main, doc, index, select, line);
      if (doc.events.length > 1) history.replaceState(null, "", "#event-" + (index + 1));
      var picker = document.getElementById("event-picker");
      if (picker && !line) picker.focus({ preventScroll: true });
    }
    var src = doc && doc.sources && doc.sources.length ? doc.sources.join(", ") : "";
    app.replaceChildren(topbar(h("span", { class: "muted src" }, src)), main);
    renderReport(main, doc, index, select);
  }

  var web = null; // set by the web-app part below

  function start() {
    var app = document.getElementById("app");
    var config = readJson("oomlens-config") || {};
    if (config.mode === "app" && web) web(app, config);
    else startStatic(app, readJson("oomlens-data") || { events: [] });
  }

  // ---------------------------------------------------------------------------------------
  // The web app (oomlens serve): paste/upload a log, browse the history store

  web = function (app, config) {
    var main = h("main");
    var tabs = {};
    ["analyze", "history"].forEach(function (k) {
      tabs[k] = h("a", { href: "#/" + k, class: "tab" }, k === "analyze" ? "Analyze a log" : "History");
    });
    app.replaceChildren(topbar(h("nav", { class: "tabs" }, tabs.analyze, tabs.history)), main);
    var pasted = null;

    function setTab(k) {
      Object.keys(tabs).forEach(function (t) {
        if (t === k) tabs[t].setAttribute("aria-current", "page");
        else tabs[t].removeAttribute("aria-current");
      });
    }

    function errorBox(msg) { return h("p", { class: "banner error", role: "alert" }, msg); }

    function api(method, url, body) {
      return fetch(url, { method: method, body: body, headers: { Accept: "application/json" } })
        .then(function (r) {
          return r.text().then(function (text) {
            var data = null;
            try { data = JSON.parse(text); } catch (ignored) { data = null; }
            if (!r.ok) {
              var failure = new Error((data && data.error) || "HTTP " + r.status);
              failure.status = r.status;
              throw failure;
            }
            return data;
          });
        });
    }

    function showReport(doc, back) {
      var holder = h("div");
      var index = 0;
      function select(i, line) { index = i; renderReport(holder, doc, index, select, line); }
      main.replaceChildren(h("div", { class: "crumbs" }, back), holder);
      renderReport(holder, doc, index, select);
    }

    function reportView() {
      setTab("analyze");
      if (!pasted) { analyzeView(); return; }
      showReport(pasted, h("a", { href: "#/analyze", class: "btn" }, "← Analyze another log"));
    }

    function analyzeView() {
      setTab("analyze");
      var area = h("textarea", { id: "log-text", rows: 14, spellcheck: "false",
        placeholder: "Paste kernel log text here: dmesg, journalctl -k, /var/log/messages, kern.log…" });
      var file = h("input", { type: "file", id: "log-file", class: "visually-hidden" });
      var msg = h("div", { class: "msg" });
      var go = h("button", { type: "submit", class: "btn primary", id: "analyze-btn" }, "Analyze");
      var limit = config.max_upload || 0;
      function send(body, name) {
        var size = body.size !== undefined ? body.size : new Blob([body]).size;
        if (limit && size > limit) {
          msg.replaceChildren(errorBox("This log is " + humanKb(size / 1024) + ": the server accepts " +
            humanKb(limit / 1024) + " at most (start oomlens serve with a larger --max-upload)."));
          return;
        }
        go.disabled = true;
        msg.replaceChildren(h("p", { class: "muted" }, "Analyzing…"));
        var url = "/api/analyze" + (name ? "?name=" + encodeURIComponent(name) : "");
        api("POST", url, body).then(function (doc) {
          pasted = doc;
          if (location.hash === "#/report") route(); else location.hash = "#/report";
        }).catch(function (err) {
          go.disabled = false;
          msg.replaceChildren(errorBox(err.message));
        });
      }
      file.addEventListener("change", function () {
        if (file.files && file.files[0]) send(file.files[0], file.files[0].name);
      });
      var form = h("form", { class: "card paste", on: { submit: function (e) {
        e.preventDefault();
        if (!area.value.trim()) { msg.replaceChildren(errorBox("Paste a log or choose a file first.")); return; }
        send(area.value, "pasted");
      } } },
        h("h1", null, "Analyze an OOM-killer log"),
        h("p", { class: "note" }, "Paste the text, choose a file (plain or compressed) or drop it anywhere " +
          "on this page. It is analysed on this machine and not stored."),
        area,
        h("div", { class: "toolbar" }, go,
          h("label", { for: "log-file", class: "btn" }, "Choose a file…"), file,
          limit ? h("span", { class: "muted" }, "up to " + humanKb(limit / 1024)) : null),
        msg);
      dropTarget = function (f) { send(f, f.name); };
      main.replaceChildren(form);
    }

    function historyView(params) {
      setTab("history");
      var fields = {};
      var form = h("form", { class: "filters", on: { submit: function (e) {
        e.preventDefault();
        var q = [];
        Object.keys(fields).forEach(function (k) {
          if (fields[k].value.trim()) q.push(k + "=" + encodeURIComponent(fields[k].value.trim()));
        });
        location.hash = "#/history" + (q.length ? "?" + q.join("&") : "");
      } } });
      [["host", "host"], ["cgroup", "cgroup path"], ["victim", "victim name"], ["since", "since (ISO time)"]]
        .forEach(function (f) {
          fields[f[0]] = h("input", { type: "search", name: f[0], placeholder: f[1], "aria-label": f[1],
            value: params.get(f[0]) || "" });
          form.appendChild(fields[f[0]]);
        });
      form.appendChild(h("button", { type: "submit", class: "btn" }, "Filter"));
      var out = h("div", { class: "msg" }, h("p", { class: "muted" }, "Loading…"));
      main.replaceChildren(h("section", { class: "card" }, h("h1", null, "History"), form, out));
      api("GET", "/api/events?" + params.toString()).then(function (rows) {
        if (!rows.length) { out.replaceChildren(h("p", { class: "muted" }, "No events match.")); return; }
        var body = h("tbody");
        rows.forEach(function (r) {
          body.appendChild(h("tr", null,
            h("td", null, h("a", { href: "#/event/" + encodeURIComponent(r.id) },
              r.time ? String(r.time).replace("T", " ") : "event " + r.id)),
            h("td", null, r.host || "–"), h("td", null, r.scope || "–"),
            h("td", { class: "path" }, r.memcg || "–"),
            h("td", null, r.victim_comm ? r.victim_comm + " [" + r.victim_pid + "]" : "–")));
        });
        out.replaceChildren(h("div", { class: "table-box" }, h("table", { class: "grid history" },
          h("thead", null, h("tr", null, ["time", "host", "scope", "cgroup", "victim"].map(function (c) {
            return h("th", { scope: "col" }, c);
          }))), body)));
      }).catch(function (err) {
        out.replaceChildren(err.status === 503
          ? h("p", { class: "banner" }, err.message) : errorBox(err.message));
      });
    }

    function eventView(id) {
      setTab("history");
      main.replaceChildren(h("p", { class: "muted" }, "Loading…"));
      api("GET", "/api/events/" + encodeURIComponent(id)).then(function (doc) {
        if (!doc.events) doc = { schema: 1, sources: [doc.source || "history"], events: [doc] };
        showReport(doc, h("a", { href: "#/history", class: "btn" }, "← History"));
      }).catch(function (err) { main.replaceChildren(errorBox(err.message)); });
    }

    // a file dropped anywhere is analysed, from whichever view
    var dropTarget = null;
    document.addEventListener("dragover", function (e) { e.preventDefault(); app.classList.add("dragging"); });
    document.addEventListener("dragleave", function () { app.classList.remove("dragging"); });
    document.addEventListener("drop", function (e) {
      e.preventDefault();
      app.classList.remove("dragging");
      var f = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
      if (!f) return;
      if (!dropTarget) {
        history.pushState(null, "", "#/analyze"); // no hashchange: build the form right now
        analyzeView();
      }
      dropTarget(f);
    });

    function route() {
      var hash = location.hash || "#/analyze";
      var q = hash.indexOf("?");
      var path = q >= 0 ? hash.slice(0, q) : hash;
      var params = new URLSearchParams(q >= 0 ? hash.slice(q + 1) : "");
      dropTarget = null;
      if (path === "#/history") historyView(params);
      else if (path.indexOf("#/event/") === 0) eventView(decodeURIComponent(path.slice(8)));
      else if (path === "#/report") reportView();
      else analyzeView();
    }
    window.addEventListener("hashchange", route);
    route();
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
