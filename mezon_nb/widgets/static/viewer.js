// StreamViewer front end (anywidget ES module, no bundler).
//
// Kernel -> browser: custom message {type: "frame", id, mime, width, height, captured_at,
// sent_at} with the image bytes as buffers[0] (or base64 in `data` after we said "nobuffers").
// Browser -> kernel: {type: "ack", id, view, painted_at, received_at} once a frame is painted
// (painted_at/received_at are epoch milliseconds: performance.timeOrigin + performance.now());
// {type: "ack", id, view, skipped: true} when a newer frame overtook it before it was decoded
// or painted;
// {type: "visibility", view, visible, width} (width: device pixels available, so the kernel can
// send smaller frames); {type: "join", channel_id}; {type: "leave"};
// {type: "refresh"}; {type: "nobuffers", view}; {type: "chat", text} (send as the bot).
// The chat pane (trait `chat`) shows the `chat_messages` trait and `chat_status`.

/**
 * @typedef {{id: string, label: string}} Channel
 * @typedef {{fps?: number, latency_ms?: number|null, width?: number|null,
 *            height?: number|null, viewers?: number|null}} Overlay
 * @typedef {{type: string, id: number, mime: string, width: number, height: number,
 *            captured_at: number|null, sent_at: number, data?: string}} FrameMsg
 * @typedef {{id: string, sender: string, text: string, time: number|null, own: boolean}} ChatLine
 */

const STATUS = {
  idle: "not joined",
  connecting: "connecting…",
  waiting: "waiting for publisher",
  live: "live",
  ended: "stream ended",
  error: "error",
  closed: "closed",
};

/** Epoch milliseconds with sub-millisecond precision. */
const epochMs = () => performance.timeOrigin + performance.now();

/** @param {FrameMsg} msg @param {DataView[]} buffers @returns {Blob|null} */
function frameBlob(msg, buffers) {
  if (buffers && buffers.length) return new Blob([buffers[0]], { type: msg.mime });
  if (msg.data) {
    const bytes = Uint8Array.from(atob(msg.data), (c) => c.charCodeAt(0));
    return new Blob([bytes], { type: msg.mime });
  }
  return null;
}

/** One chat line as DOM (textContent only: chat text is never parsed as HTML). @param {ChatLine} m */
function chatItem(m) {
  const li = document.createElement("li");
  li.className = m.own ? "mz-own" : "";
  const who = document.createElement("b");
  who.textContent = m.sender;
  const when = document.createElement("small");
  when.textContent = m.time ? new Date(m.time * 1000).toLocaleTimeString() + " " : "";
  li.append(when, who, document.createTextNode(`: ${m.text}`));
  return li;
}

/** @param {Overlay} o */
function overlayText(o) {
  const parts = [];
  if (o.fps != null) parts.push(`${o.fps.toFixed(1)} fps`);
  if (o.latency_ms != null) parts.push(`latency ${Math.round(o.latency_ms)} ms`);
  if (o.width && o.height) parts.push(`${o.width}×${o.height}`);
  if (o.viewers != null) parts.push(`${o.viewers} watching`);
  return parts.join(" · ");
}

export default {
  /** @param {{model: any, el: HTMLElement}} ctx */
  render({ model, el }) {
    const view = Math.random().toString(36).slice(2);
    el.classList.add("mz-viewer");
    el.innerHTML = `
      <div class="mz-bar">
        <select class="mz-pick" title="streaming channels"></select>
        <button class="mz-refresh" title="refresh the channel list">↻</button>
        <button class="mz-join">Join</button>
        <button class="mz-leave">Leave</button>
        <span class="mz-status"></span>
      </div>
      <div class="mz-stage">
        <canvas class="mz-canvas" width="640" height="360"></canvas>
        <div class="mz-overlay"></div>
      </div>
      <div class="mz-chat" hidden>
        <ul class="mz-chat-log"></ul>
        <form class="mz-chat-form">
          <input class="mz-chat-text" placeholder="say something as the bot" maxlength="2000">
          <button type="submit">Send</button>
          <span class="mz-chat-status"></span>
        </form>
      </div>`;
    const q = (/** @type {string} */ s) => /** @type {any} */ (el.querySelector(s));
    const pick = q(".mz-pick"), status = q(".mz-status"), overlay = q(".mz-overlay");
    const canvas = /** @type {HTMLCanvasElement} */ (q(".mz-canvas"));
    const ctx = canvas.getContext("2d");

    function showChannels() {
      const current = model.get("channel_id");
      pick.replaceChildren(...(model.get("channels") || []).map((/** @type {Channel} */ c) => {
        const option = document.createElement("option");
        option.value = c.id;
        option.textContent = c.label;
        option.selected = c.id === current;
        return option;
      }));
    }
    function showStatus() {
      const state = model.get("status");
      const text = model.get("status_text");
      status.dataset.state = state;
      status.textContent = (STATUS[state] || state) + (text ? `: ${text}` : "");
    }
    const showOverlay = () => { overlay.textContent = overlayText(model.get("overlay") || {}); };
    const chatLog = q(".mz-chat-log"), chatText = q(".mz-chat-text");
    function showChat() {
      q(".mz-chat").hidden = !model.get("chat");
      chatLog.replaceChildren(...(model.get("chat_messages") || []).map(chatItem));
      chatLog.scrollTop = chatLog.scrollHeight;
      q(".mz-chat-status").textContent = model.get("chat_status") || "";
    }
    q(".mz-chat-form").addEventListener("submit", (/** @type {Event} */ e) => {
      e.preventDefault();
      const text = chatText.value.trim();
      if (text) model.send({ type: "chat", text });
      chatText.value = "";
    });

    // -- frames: decode the newest off the main thread, paint it on the next animation frame,
    // then ack; a frame overtaken before it was decoded or painted is acked as skipped --------
    let closed = false;
    let visible = false;
    let raf = 0;
    let decoding = false;
    /** @type {{msg: FrameMsg, blob: Blob, received: number}|null} */
    let waiting = null;
    /** @type {{id: number, bitmap: ImageBitmap, received: number}|null} */
    let ready = null;
    let sourceWidth = 0;
    const ack = (/** @type {number} */ id, /** @type {object} */ extra) =>
      model.send({ type: "ack", id, view, ...extra });

    function paint() {
      raf = 0;
      if (!ready || closed) return;
      const { id, bitmap, received } = ready;
      ready = null;
      if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) {
        canvas.width = bitmap.width;
        canvas.height = bitmap.height;
      }
      // a frame the kernel reduced to our size still shows at the stream's own size (CSS px)
      canvas.style.width = sourceWidth ? `${sourceWidth}px` : "";
      ctx.drawImage(bitmap, 0, 0);
      bitmap.close();
      ack(id, { painted_at: epochMs(), received_at: received });
    }

    /** @param {FrameMsg} msg @param {DataView[]} buffers */
    function onMessage(msg, buffers) {
      if (msg.type !== "frame" || !visible) return;
      const received = epochMs();
      const blob = frameBlob(msg, buffers);
      if (!blob) {
        model.send({ type: "nobuffers", view });
        return;
      }
      if (waiting) ack(waiting.msg.id, { skipped: true });
      waiting = { msg, blob, received };
      if (!decoding) decodeNewest();
    }

    /** One decode at a time, always of the newest frame waiting: a burst never queues up. */
    async function decodeNewest() {
      decoding = true;
      while (waiting && !closed) {
        const { msg, blob, received } = waiting;
        waiting = null;
        let bitmap;
        try {
          bitmap = await createImageBitmap(blob);
        } catch (err) {
          ack(msg.id, { skipped: true, error: String(err) });
          continue;
        }
        if (closed) bitmap.close();
        else show(msg, bitmap, received);
      }
      decoding = false;
    }

    /** @param {FrameMsg} msg @param {ImageBitmap} bitmap @param {number} received */
    function show(msg, bitmap, received) {
      if (ready) {
        ready.bitmap.close();
        ack(ready.id, { skipped: true });
      }
      ready = { id: msg.id, bitmap, received };
      sourceWidth = msg.width;
      if (!raf) raf = requestAnimationFrame(paint);
    }

    // -- visibility: on screen (IntersectionObserver), the tab shown, and our width ---------
    let intersecting = typeof IntersectionObserver === "undefined";
    let width = 0;
    function report() {
      const now = !closed && intersecting && document.visibilityState !== "hidden";
      const px = Math.round(el.clientWidth * (window.devicePixelRatio || 1));
      if (now === visible && (!now || Math.abs(px - width) <= width / 10)) return;
      visible = now;
      width = px;
      model.send({ type: "visibility", view, visible, width: width || null });
    }
    const observer = typeof IntersectionObserver === "undefined" ? null
      : new IntersectionObserver((entries) => {
        intersecting = entries[entries.length - 1].isIntersecting;
        report();
      });
    observer?.observe(el);
    const resized = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(report);
    resized?.observe(el);
    document.addEventListener("visibilitychange", report);
    report();

    q(".mz-join").addEventListener("click", () =>
      model.send({ type: "join", channel_id: pick.value }));
    q(".mz-leave").addEventListener("click", () => model.send({ type: "leave" }));
    q(".mz-refresh").addEventListener("click", () => model.send({ type: "refresh" }));

    /** @type {Array<[string, Function]>} every model listener, added here and removed on cleanup */
    const listeners = [
      ["msg:custom", onMessage],
      ["change:channels", showChannels],
      ["change:channel_id", showChannels],
      ["change:status", showStatus],
      ["change:status_text", showStatus],
      ["change:overlay", showOverlay],
      ["change:chat", showChat],
      ["change:chat_messages", showChat],
      ["change:chat_status", showChat],
    ];
    for (const [name, fn] of listeners) model.on(name, fn);
    showChannels();
    showStatus();
    showOverlay();
    showChat();

    return () => {
      closed = true;
      report();
      observer?.disconnect();
      resized?.disconnect();
      document.removeEventListener("visibilitychange", report);
      if (raf) cancelAnimationFrame(raf);
      ready?.bitmap.close();
      for (const [name, fn] of listeners) model.off(name, fn);
    };
  },
};
