// ParticipantsPanel front end (anywidget ES module, no bundler).
//
// A `message` event (someone spoke in the chat) counts on its watcher (messages, spoke);
// watchers who spoke within TALKING seconds are shown as talking (💬).
// First paint from the synced `initial` trait, then one {type: "sync"} request; then kernel
// custom messages
// {type: "delta", seq, event: {time, kind, channel_id, channel_label, user_id, participant},
// count, total} are applied one by one. On a gap in `seq` we send {type: "sync"} and the kernel
// answers {type: "reset", state} (the same shape as `initial`).

/**
 * @typedef {{user_id: string, participant: string, since: number, messages?: number,
 *            spoke?: number}} Watcher
 * @typedef {{time: number, kind: string, channel_id: string, channel_label: string,
 *            user_id: string, participant: string}} LogEvent
 * @typedef {{seq: number, channels: Record<string, {label: string, watchers: Watcher[]}>,
 *            series: [number, number][], ticker: LogEvent[]}} PanelState
 */

const TICKER = 20;
const TALKING = 60; // seconds
const VERB = { joined: "joined", left: "left", started: "started", ended: "ended", message: "spoke in" };

/** @param {number} seconds epoch seconds */
const clock = (seconds) => new Date(seconds * 1000).toLocaleTimeString();

/** @param {PanelState} state @param {LogEvent} ev @param {number} total */
function apply(state, ev, total) {
  const channel = (state.channels[ev.channel_id] ??= { label: ev.channel_label, watchers: [] });
  channel.label = ev.channel_label || channel.label;
  const at = channel.watchers.findIndex((w) => w.user_id === ev.user_id);
  if (ev.kind === "joined" && at < 0) {
    channel.watchers.push({ user_id: ev.user_id, participant: ev.participant, since: ev.time });
  } else if (ev.kind === "left" && at >= 0) {
    channel.watchers.splice(at, 1);
  } else if (ev.kind === "ended") {
    channel.watchers = [];
  } else if (ev.kind === "message" && at >= 0) {
    const w = channel.watchers[at];
    w.messages = (w.messages || 0) + 1;
    w.spoke = ev.time;
  }
  const last = state.series[state.series.length - 1];
  if (!last || last[1] !== total) state.series.push([ev.time, total]);
  state.ticker.push(ev);
  state.ticker.splice(0, Math.max(0, state.ticker.length - TICKER));
}

/** A step-line SVG of viewers over the last `minutes`. @param {[number, number][]} series */
function sparkline(series, minutes, width = 240, height = 36) {
  const end = Date.now() / 1000;
  const start = end - minutes * 60;
  let before = 0;
  /** @type {[number, number][]} */
  const points = [];
  for (const [t, n] of series) {
    if (t < start) before = n;
    else points.push([t, n]);
  }
  const steps = [[start, before], ...points, [end, points.length ? points[points.length - 1][1] : before]];
  const top = Math.max(1, ...steps.map((p) => p[1]));
  const x = (/** @type {number} */ t) => ((t - start) / (end - start)) * width;
  const y = (/** @type {number} */ n) => height - 2 - (n / top) * (height - 4);
  const coords = [];
  for (let i = 0; i < steps.length; i++) {
    if (i > 0) coords.push(`${x(steps[i][0]).toFixed(1)},${y(steps[i - 1][1]).toFixed(1)}`);
    coords.push(`${x(steps[i][0]).toFixed(1)},${y(steps[i][1]).toFixed(1)}`);
  }
  return `<svg class="mz-spark" width="${width}" height="${height}" role="img"
    aria-label="viewers over the last ${minutes} minutes (max ${top})">
    <polyline points="${coords.join(" ")}"/></svg>`;
}

/** @param {string} text */
const esc = (text) => String(text).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

export default {
  /** @param {{model: any, el: HTMLElement}} ctx */
  render({ model, el }) {
    el.classList.add("mz-panel");
    /** @type {PanelState} */
    let state = structuredClone(model.get("initial"));
    let syncing = true; // the trait is the state at construction: ask for the current one
    model.send({ type: "sync" });

    /** @param {Watcher} w @param {number} now */
    const talking = (w, now) => w.spoke != null && now - w.spoke < TALKING;
    /** @param {Watcher} w @param {number} now */
    const who = (w, now) => talking(w, now)
      ? `<span class="mz-talking" title="${w.messages} message(s)">💬 ${esc(w.participant)}</span>`
      : esc(w.participant);

    function draw() {
      const now = Date.now() / 1000;
      const channels = Object.entries(state.channels);
      const total = channels.reduce((n, [, c]) => n + c.watchers.length, 0);
      const talkers = channels.reduce((n, [, c]) => n + c.watchers.filter((w) => talking(w, now)).length, 0);
      const rows = channels.map(([id, c]) => `<tr><td title="${esc(id)}">${esc(c.label)}</td>
        <td>${c.watchers.length}</td>
        <td>${c.watchers.map((w) => `${who(w, now)} <small>since ${clock(w.since)}</small>`).join(", ")}</td></tr>`);
      const ticker = state.ticker.slice().reverse().map((e) =>
        `<li class="${esc(e.kind)}">${clock(e.time)} ${esc(e.participant || e.kind)} ${esc(VERB[e.kind] || e.kind)} ${esc(e.channel_label)}</li>`);
      el.innerHTML = `<div><b>${total}</b> watching now${talkers ? `, <b>${talkers}</b> talking` : ""}</div>
        ${sparkline(state.series, model.get("window_minutes"))}
        <table><tr><th>channel</th><th>viewers</th><th>who, since</th></tr>${rows.join("")}</table>
        <ul class="mz-ticker">${ticker.join("")}</ul>`;
    }

    /** @param {any} msg */
    function onMessage(msg) {
      if (msg.type === "reset") {
        state = msg.state;
        syncing = false;
      } else if (msg.type === "delta") {
        if (msg.seq <= state.seq || syncing) return;
        if (msg.seq > state.seq + 1) {
          syncing = true;
          model.send({ type: "sync" });
          return;
        }
        apply(state, msg.event, msg.total);
        state.seq = msg.seq;
      } else {
        return;
      }
      draw();
    }

    model.on("msg:custom", onMessage);
    model.on("change:window_minutes", draw);
    const timer = setInterval(draw, 5000); // slide the sparkline window
    draw();
    return () => {
      clearInterval(timer);
      model.off("msg:custom", onMessage);
      model.off("change:window_minutes", draw);
    };
  },
};
