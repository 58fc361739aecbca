// In-page probe for benchmarks/browser.py (added with Playwright's addInitScript; the widget's
// own code is not changed). It records, for every picture that reaches the screen:
//  * StreamViewer: each drawImage() onto a canvas.mz-canvas (the widget paints there on an
//    animation frame, then acks the kernel with painted_at);
//  * ipywidgets.Image (the naive baseline): each new src of an img.widget-image, once decoded,
//    on the next animation frame;
//  * a WebRTC <video> (the reference without Jupyter): each frame requestVideoFrameCallback
//    reports as presented;
// the frame counter and capture time stamped in the picture by the sandbox (the same layout as
// mezon_nb/protocol/stamp.py: 10 x 6 blocks, 20-bit index, 32-bit epoch ms, 8-bit CRC-32).
// Capture time is the sandbox's time.time(); paint time is Date.now(): both read the same
// system clock (CLOCK_REALTIME) on this machine. performance.timeOrigin + now() (what the
// widget's acks carry) is recorded too, to show how far it is from Date.now().

(() => {
  const CRC = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    CRC[n] = c >>> 0;
  }
  const crc32 = (bytes) => {
    let c = 0xffffffff;
    for (const b of bytes) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };

  /** Block side of the stamp in a picture `h` pixels high: the sandbox draws it for its own
   * frame height (window.__mzSourceHeight when the benchmark sets it), and the widget may have
   * scaled the frame since. */
  function blockSide(h) {
    const source = window.__mzSourceHeight || h;
    return Math.max(8, Math.floor(source / 45)) * (h / source);
  }

  /** Decode the stamp from ImageData of the picture's top-left corner (picture height h). */
  function readStamp(img, h) {
    const side = blockSide(h);
    let word = 0n;
    for (let r = 0; r < 6; r++) {
      for (let c = 0; c < 10; c++) {
        let sum = 0, n = 0;
        const y0 = Math.round(r * side + side / 4), y1 = Math.round(r * side + 3 * side / 4);
        const x0 = Math.round(c * side + side / 4), x1 = Math.round(c * side + 3 * side / 4);
        for (let y = y0; y < y1; y++) {
          for (let x = x0; x < x1; x++) {
            sum += img.data[(y * img.width + x) * 4 + 1];
            n++;
          }
        }
        word = (word << 1n) | (sum / n > 128 ? 1n : 0n);
      }
    }
    const payload = word >> 8n;
    const bytes = [];
    for (let i = 6; i >= 0; i--) bytes.push(Number((payload >> BigInt(8 * i)) & 0xffn));
    if ((crc32(bytes) & 0xff) !== Number(word & 0xffn)) return null;
    return { index: Number(payload >> 32n), millis: Number(payload & 0xffffffffn) };
  }

  const TWO32 = 4294967296;
  const probe = { paints: [], misses: 0, arrivals: [] };
  window.__mzProbe = probe;

  // Every kernel message carrying a frame (JupyterLab's binary v1 WebSocket protocol: a
  // count and offsets of the parts, then channel, header, parent, metadata, content, buffers)
  // as it arrives on the page: [Date.now(), frame id, sent_at (kernel, epoch ms), bytes].
  // Its sent_at against the paint shows whether a frame waited before or after the page.
  const text = new TextDecoder();
  function onSocketMessage(event) {
    const data = event.data;
    if (!(data instanceof ArrayBuffer) || data.byteLength < 1000) return;
    const view = new DataView(data);
    const parts = Number(view.getBigUint64(0, true));
    if (parts < 6 || parts > 64) return;
    const at = (i) => Number(view.getBigUint64(8 * (i + 1), true));
    const content = text.decode(new Uint8Array(data, at(4), at(5) - at(4)));
    const sent = /"sent_at":\s*([\d.]+)/.exec(content), id = /"id":\s*(\d+)/.exec(content);
    if (sent && id) probe.arrivals.push([Date.now(), Number(id[1]), Number(sent[1]),
                                         data.byteLength]);
  }
  const NativeSocket = window.WebSocket;
  window.WebSocket = new Proxy(NativeSocket, {
    construct(target, args) {
      const socket = new target(...args);
      socket.addEventListener("message", onSocketMessage);
      return socket;
    },
  });

  /** Record one painted picture: [kind, Date.now(), perf epoch, index, glass-to-glass ms]. */
  function record(kind, img, h) {
    const now = Date.now();
    const perf = performance.timeOrigin + performance.now();
    const stamp = readStamp(img, h);
    if (!stamp) { probe.misses++; return; }
    let age = (((now - stamp.millis) % TWO32) + TWO32) % TWO32;
    if (age >= TWO32 / 2) age -= TWO32;
    probe.paints.push([kind, now, perf, stamp.index, age]);
  }

  const draw = CanvasRenderingContext2D.prototype.drawImage;
  CanvasRenderingContext2D.prototype.drawImage = function (...args) {
    const out = draw.apply(this, args);
    const canvas = this.canvas;
    if (canvas && canvas.classList && canvas.classList.contains("mz-canvas")) {
      const side = Math.ceil(blockSide(canvas.height));
      record("viewer", this.getImageData(0, 0, 10 * side, 6 * side), canvas.height);
    }
    return out;
  };

  // A <video> fed by WebRTC (tests/browser/pages/stn.js calls this from its
  // requestVideoFrameCallback): the frame being presented, read through a scratch canvas.
  const vscratch = document.createElement("canvas");
  const vctx = vscratch.getContext("2d", { willReadFrequently: true });
  window.__mzOnVideoFrame = (video) => {
    const h = video.videoHeight, side = Math.ceil(blockSide(h));
    if (!h) return;
    vscratch.width = 10 * side;
    vscratch.height = 6 * side;
    vctx.drawImage(video, 0, 0, 10 * side, 6 * side, 0, 0, 10 * side, 6 * side);
    record("video", vctx.getImageData(0, 0, 10 * side, 6 * side), h);
  };

  const scratch = document.createElement("canvas");
  const sctx = scratch.getContext("2d", { willReadFrequently: true });
  function onImage(img) {
    const src = img.src;
    img.decode().then(() => requestAnimationFrame(() => {
      if (img.src !== src || !img.naturalHeight) return;  // superseded before it was shown
      const h = img.naturalHeight, side = Math.ceil(blockSide(h));
      scratch.width = 10 * side;
      scratch.height = 6 * side;
      sctx.drawImage(img, 0, 0, 10 * side, 6 * side, 0, 0, 10 * side, 6 * side);
      record("image", sctx.getImageData(0, 0, 10 * side, 6 * side), h);
    }), () => {});
  }
  new MutationObserver((mutations) => {
    for (const m of mutations) {
      const t = m.target;
      if (t.tagName === "IMG" && t.classList.contains("widget-image") && t.src) onImage(t);
      for (const node of m.addedNodes || []) {
        if (node.querySelectorAll) {
          node.querySelectorAll("img.widget-image").forEach((img) => img.src && onImage(img));
        }
      }
    }
  }).observe(document, { subtree: true, childList: true, attributes: true,
                         attributeFilter: ["src"] });
})();
