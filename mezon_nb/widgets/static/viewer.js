// StreamViewer front end (anywidget ES module, no bundler).
//
// Kernel -> browser: custom message {type: "frame", id, mime, width, height, captured_at,
// sent_at, flush} with the image bytes as buffers[0] (or base64 in `data` after we said
// "nobuffers"); or, in pass-through, {type: "video", id, codec, key, timestamp (µs), size, seq,
// flush, sent_at, width, height (a VP8 keyframe's size, else null)} with the stream's own
// encoded frame (VP8, or H.264 Annex B; on a lower bitrate rung VP8 re-encoded by the kernel,
// with display_width/display_height), decoded here with WebCodecs (optimizeForLatency),
// painted on an animation frame, every VideoFrame closed.
// After a gap, an error or a new decoder no delta frame is decoded until a keyframe, and we
// ask for one in the next acks message, sent at once (`keyframe`, at most one per
// KEYFRAME_MS per view). The decoder is configured again only when its configuration (codec
// string, coded size when the kernel knows it) changes, not on every keyframe; H.264 comes in
// Annex B, so there is no `description`.
// Browser -> kernel: {type: "acks", view, flushed_at, painted: [[id, painted_at], ...],
// skipped: [id, ...], error?, keyframe?: "start"|"error"|"behind"} for the frames painted, and
// those dropped unpainted (the browser
// fell QUEUE frames behind, or could not decode one), since the last such message (times are epoch milliseconds:
// performance.timeOrigin + performance.now()). Acks are batched, because every message to the
// kernel makes it publish a busy and an idle status that JupyterLab re-renders: they go at once
// when the frame says `flush` (the kernel's window is full), else ACK_DELAY_MS after the first.
// {type: "visibility", view, visible, width, codecs} (width: device pixels available, so the
// kernel can send smaller frames; codecs: what VideoDecoder.isConfigSupported accepts, null
// without WebCodecs: then the kernel sends JPEG); {type: "join", channel_id}; {type: "leave"};
// {type: "refresh"}; {type: "nobuffers", view}; {type: "chat", text} (send as the bot).
// The chat pane (trait `chat`) shows the `chat_messages` trait and `chat_status`.

/**
 * @typedef {{id: string, label: string}} Channel
 * @typedef {{fps?: number, latency_ms?: number|null, width?: number|null,
 *            height?: number|null, viewers?: number|null, path?: string,
 *            comm_kbps?: number|null}} Overlay
 * @typedef {{type: string, id: number, mime: string, width: number, height: number,
 *            captured_at: number|null, sent_at: number, flush: boolean, data?: string}} FrameMsg
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

/** The longest an ack waits for others to share its message. */
const ACK_DELAY_MS = 500;
/** Frames that may wait between arrival and paint before the oldest is dropped. */
const QUEUE = 3;
/** The shortest time between two keyframe requests of one view. */
const KEYFRAME_MS = 500;

/** The longest a view waits for the codec probe before it tells the kernel it is in sight
 * (without codecs: JPEG until the probe answers). Until then nothing is sent to it, so on a
 * slow link its first picture is the stream's own keyframe, not a JPEG of ~100 kB at 720p. */
const PROBE_WAIT_MS = 3000;
/** Decoder configurations tried per codec name the kernel uses. */
const CODECS = { vp8: "vp8", h264: "avc1.42e01f" };

/** What this browser decodes with WebCodecs: a promise of codec names, or of null. */
const decodable = (async () => {
  if (typeof VideoDecoder === "undefined" || typeof EncodedVideoChunk === "undefined") return null;
  const names = [];
  for (const [name, codec] of Object.entries(CODECS)) {
    try {
      const { supported } = await VideoDecoder.isConfigSupported({ codec, optimizeForLatency: true });
      if (supported) names.push(name);
    } catch (_) { /* not this one */ }
  }
  return names;
})();

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

/** The CSS width a picture shows at: the stream's own size, also when the kernel sent it
 * smaller (a reduced JPEG, or VP8 re-encoded at a lower scale for a small link).
 * @param {{width?: number|null, display_width?: number}} msg */
function displayWidth(msg) {
  const px = msg.display_width || msg.width;
  return px ? `${px}px` : "";
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
  if (o.path) parts.push(o.comm_kbps != null ? `${o.path} ${(o.comm_kbps / 1000).toFixed(1)} Mbit/s` : o.path);
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
      if (state !== "live") resetDecoder();     // left, ended, rejoining: nothing kept open
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

    // -- frames: decoded off the main thread in arrival order, painted one per animation
    // frame, oldest first, then acked. At most QUEUE frames wait between arrival and paint: a
    // pair that arrives together is painted on two animation frames, but when the browser
    // falls further behind the oldest waiting frame is dropped (acked as skipped). Acks wait
    // in `acks` until a flush frame is done or ACK_DELAY_MS has passed ----------------------
    let closed = false;
    let visible = false;
    let raf = 0;
    let decoding = false;
    /** @type {Array<{msg: FrameMsg, blob: Blob|null, bitmap: any, gone: boolean}>} */
    const queue = [];
    const acks = { painted: /** @type {number[][]} */ ([]), skipped: /** @type {number[]} */ ([]),
      error: "", keyframe: "", timer: 0 };

    function flushAcks() {
      clearTimeout(acks.timer);
      acks.timer = 0;
      if (!acks.painted.length && !acks.skipped.length && !acks.keyframe) return;
      model.send({ type: "acks", view, flushed_at: epochMs(), painted: acks.painted,
        skipped: acks.skipped, ...(acks.error ? { error: acks.error } : {}),
        ...(acks.keyframe ? { keyframe: acks.keyframe } : {}) });
      acks.painted = [];
      acks.skipped = [];
      acks.error = "";
      acks.keyframe = "";
    }
    /** @param {FrameMsg} msg @param {number|null} paintedAt null: skipped */
    function ack(msg, paintedAt) {
      if (paintedAt === null) acks.skipped.push(msg.id);
      else acks.painted.push([msg.id, paintedAt]);
      if (msg.flush) flushAcks();
      else if (!acks.timer) acks.timer = setTimeout(flushAcks, ACK_DELAY_MS);
    }
    /** Take a frame out of the queue unpainted. @param {typeof queue[number]} entry */
    function drop(entry) {
      const at = queue.indexOf(entry);
      if (at >= 0) queue.splice(at, 1);
      entry.gone = true;
      entry.bitmap?.close();
      ack(entry.msg, null);
    }

    function paint() {
      raf = 0;
      if (closed || !queue[0]?.bitmap) return;
      const { msg, bitmap } = /** @type {{msg: FrameMsg, bitmap: any}} */ (queue.shift());
      const w = bitmap.displayWidth || bitmap.width, h = bitmap.displayHeight || bitmap.height;
      if (canvas.width !== w || canvas.height !== h) {
        canvas.width = w;
        canvas.height = h;
      }
      // a frame the kernel reduced to our size still shows at the stream's own size (CSS px)
      canvas.style.width = displayWidth(msg);
      ctx.drawImage(bitmap, 0, 0);
      bitmap.close();
      ack(msg, epochMs());
      if (queue[0]?.bitmap) raf = requestAnimationFrame(paint);
    }

    // -- pass-through: one VideoDecoder, fed in order from a keyframe on -------------------
    /** @type {any} */
    let decoder = null;
    let configured = "";        // the configuration `decoder` has, as JSON
    let needKey = true;
    let askedAt = -1e9;
    /** @type {Map<number, FrameMsg>} frames in the decoder, by timestamp */
    const decoding_ = new Map();
    /** Ask for a keyframe with the acks, at once (rate limited). @param {string} reason */
    function askKeyframe(reason) {
      needKey = true;
      const now = performance.now();
      if (now - askedAt < KEYFRAME_MS) return;
      askedAt = now;
      acks.keyframe = reason;
      flushAcks();
    }
    function resetDecoder() {
      if (decoder && decoder.state !== "closed") decoder.close();
      decoder = null;
      configured = "";
      needKey = true;
      for (const msg of decoding_.values()) ack(msg, null);
      decoding_.clear();
    }
    /** A decoder configured for this keyframe: the one we have unless its configuration
     * differs. @param {{codec: string, width?: number, height?: number}} msg */
    function decoderFor(msg) {
      const config = { codec: CODECS[msg.codec] || msg.codec, optimizeForLatency: true,
        ...(msg.width && msg.height ? { codedWidth: msg.width, codedHeight: msg.height } : {}) };
      const key = JSON.stringify(config);
      if (!decoder) decoder = new VideoDecoder({ output: onDecoded, error: onDecodeError });
      if (key !== configured) {
        decoder.configure(config);
        configured = key;
      }
      return decoder;
    }
    /** @param {any} frame a VideoFrame */
    function onDecoded(frame) {
      const msg = decoding_.get(frame.timestamp);
      decoding_.delete(frame.timestamp);
      if (!msg || closed) { frame.close(); return; }
      queue.push({ msg, blob: null, bitmap: frame, gone: false });
      while (queue.length > QUEUE) drop(queue[0]);
      if (!raf) raf = requestAnimationFrame(paint);
    }
    /** @param {any} err */
    function onDecodeError(err) {
      acks.error = String(err);
      resetDecoder();
      askKeyframe("error");
    }
    /** @param {FrameMsg & {codec: string, key: boolean, timestamp: number}} msg @param {DataView[]} buffers */
    function onVideo(msg, buffers) {
      const data = buffers && buffers.length ? buffers[0]
        : msg.data ? Uint8Array.from(atob(msg.data), (c) => c.charCodeAt(0)) : null;
      if (!data) { model.send({ type: "nobuffers", view }); return; }
      if (decoder && decoder.decodeQueueSize > QUEUE) {   // the decoder fell behind
        resetDecoder();
        askKeyframe("behind");
      }
      if (!msg.key && (needKey || !decoder)) {
        ack(msg, null);
        askKeyframe("start");
        return;
      }
      try {
        if (msg.key) {
          decoderFor(msg);
          needKey = false;
        }
        decoding_.set(msg.timestamp, msg);
        decoder.decode(new EncodedVideoChunk({ type: msg.key ? "key" : "delta",
          timestamp: msg.timestamp, data }));
      } catch (err) {
        decoding_.delete(msg.timestamp);
        ack(msg, null);
        onDecodeError(err);
      }
    }

    /** @param {FrameMsg} msg @param {DataView[]} buffers */
    function onMessage(msg, buffers) {
      if (msg.type === "video" && visible) return onVideo(/** @type {any} */ (msg), buffers);
      if (msg.type !== "frame" || !visible) return;
      const blob = frameBlob(msg, buffers);
      if (!blob) {
        model.send({ type: "nobuffers", view });
        return;
      }
      queue.push({ msg, blob, bitmap: null, gone: false });
      while (queue.length > QUEUE) drop(queue[0]);
      if (!decoding) decodeInOrder();
    }

    /** One decode at a time, oldest waiting frame first; each decoded frame asks for a paint. */
    async function decodeInOrder() {
      decoding = true;
      for (let entry; !closed && (entry = queue.find((e) => !e.bitmap));) {
        try {
          const bitmap = await createImageBitmap(entry.blob);
          if (entry.gone || closed) bitmap.close();
          else entry.bitmap = bitmap;
        } catch (err) {
          acks.error = String(err);
          if (!entry.gone) drop(entry);
        }
        if (queue[0]?.bitmap && !raf) raf = requestAnimationFrame(paint);
      }
      decoding = false;
    }

    // -- visibility: on screen (IntersectionObserver), the tab shown, and our width ---------
    let intersecting = typeof IntersectionObserver === "undefined";
    let width = 0;
    /** @type {string[]|null} */
    let codecs = null;
    let probed = false;
    function report(force = false) {
      if (!probed) return;
      const now = !closed && intersecting && document.visibilityState !== "hidden";
      const px = Math.round(el.clientWidth * (window.devicePixelRatio || 1));
      if (!force && now === visible && (!now || Math.abs(px - width) <= width / 10)) return;
      if (now && !visible) needKey = true;          // back in sight: start on a keyframe
      visible = now;
      width = px;
      model.send({ type: "visibility", view, visible, width: width || null, codecs });
    }
    const probeWait = setTimeout(() => { probed = true; report(true); }, PROBE_WAIT_MS);
    decodable.then((names) => {
      clearTimeout(probeWait);
      codecs = names;
      probed = true;
      if (!closed) report(true);
    });
    const observer = typeof IntersectionObserver === "undefined" ? null
      : new IntersectionObserver((entries) => {
        intersecting = entries[entries.length - 1].isIntersecting;
        report();
      });
    observer?.observe(el);
    const resized = typeof ResizeObserver === "undefined" ? null
      : new ResizeObserver(() => report());
    resized?.observe(el);
    const onVisibility = () => report();
    document.addEventListener("visibilitychange", onVisibility);
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
      document.removeEventListener("visibilitychange", onVisibility);
      resetDecoder();
      if (raf) cancelAnimationFrame(raf);
      clearTimeout(acks.timer);
      clearTimeout(probeWait);
      for (const entry of queue) entry.bitmap?.close();
      for (const [name, fn] of listeners) model.off(name, fn);
    };
  },
};
