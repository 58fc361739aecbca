// A plain browser peer of the sandbox's STN stand-in, for tests/browser only.
//
// window.stnView({url, token, clanId, channelId, userId}) runs the newest viewer exchange
// (streaming spec §2.4 C): get_channels until the channel is live, an audio + video recvonly
// offer with every ICE candidate in it, session_subscriber, then connect_subscriber and
// session_state_changed State 3 on session_received, sd_answer, trickled ice_candidate.
// With {trickle: true} it keeps production web main's order (§2.4 A, with a video m-line):
// the offer at once, local candidates trickled as ice_candidate, connect_subscriber on
// `channels`.
// window.stnPublish({...same}) publishes the page's camera (Chromium's fake device) with the
// legacy WebRTC publisher exchange (§2.2): session_publisher → sd_answer, connect_publisher
// {ChannelId} once ICE is up, and waits for the server's connect_publisher.
// Both resolve once the media flows and leave their state in window.stn for the test to read.

const log = [];
window.stn = { log, frames: 0, state: "idle", error: null };

function note(text) {
  log.push(`${(performance.now() / 1000).toFixed(3)} ${text}`);
}

function envelope(opts, extra) {
  return {
    ClanId: opts.clanId, ChannelId: opts.channelId, UserId: opts.userId,
    ClientId: `browser-test-${opts.userId}`, IsPublisher: !!opts.publisher, ...extra,
  };
}

/** Open the signalling socket; resolves with {send, next, close}. */
function signalling(opts) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${opts.url}/ws?token=${encodeURIComponent(opts.token)}`);
    const inbox = [];
    const waiters = [];
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      note(`<- ${msg.Key}`);
      if (msg.Key === "error") window.stn.error = String(msg.Value);
      const waiter = waiters.shift();
      if (waiter) waiter(msg); else inbox.push(msg);
    };
    ws.onerror = () => reject(new Error("signalling socket failed"));
    ws.onclose = (ev) => { note(`socket closed ${ev.code}`); window.stn.closed = true; };
    ws.onopen = () => {
      const send = (key, value, extra = {}) => {
        note(`-> ${key}`);
        const msg = { Key: key, ...envelope(opts, extra) };
        if (value !== undefined) msg.Value = value;
        ws.send(JSON.stringify(msg));
      };
      const next = (timeoutMs = 5000) => new Promise((ok, fail) => {
        if (inbox.length) return ok(inbox.shift());
        const timer = setTimeout(() => fail(new Error("no message from the stream server")),
          timeoutMs);
        waiters.push((msg) => { clearTimeout(timer); ok(msg); });
      });
      resolve({ ws, send, next, close: () => ws.close() });
    };
  });
}

/** Wait until ICE gathering is complete (at most `ms`), as STN's newest clients do. */
function gathered(pc, ms = 2500) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((ok) => {
    const done = () => { if (pc.iceGatheringState === "complete") ok(); };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(ok, ms);
  });
}

async function addCandidate(pc, value) {
  const c = typeof value === "string" ? JSON.parse(value) : value;
  if (c && c.candidate) await pc.addIceCandidate(c);
}

window.stnView = async (opts) => (opts.trickle ? viewTrickle(opts) : viewGathered(opts));

/** Count the frames the <video> presents, and start playing. */
async function play(video) {
  const count = () => {
    window.stn.frames += 1;
    if (window.__mzOnVideoFrame) window.__mzOnVideoFrame(video);  // benchmarks/browser.py
    video.requestVideoFrameCallback(count);
  };
  video.requestVideoFrameCallback(count);
  video.muted = true;
  await video.play();
}

function receive(pc) {
  const video = document.querySelector("video");
  const stream = new MediaStream();
  pc.ontrack = (ev) => {
    note(`track ${ev.track.kind}`);
    stream.addTrack(ev.track);
    video.srcObject = stream;
  };
  pc.oniceconnectionstatechange = () => note(`ice ${pc.iceConnectionState}`);
  return video;
}

/** Generation A order (production web main): the offer goes out at once and local candidates
 * follow as ice_candidate messages; connect_subscriber once `channels` lists the stream. */
async function viewTrickle(opts) {
  window.stn.state = "connecting";
  const pc = new RTCPeerConnection({ iceServers: [] });
  window.stn.pc = pc;
  pc.addTransceiver("audio", { direction: "recvonly" });
  pc.addTransceiver("video", { direction: "recvonly" });
  const video = receive(pc);
  const sig = await signalling(opts);
  pc.onicecandidate = (ev) => {
    if (ev.candidate && ev.candidate.candidate) sig.send("ice_candidate", ev.candidate.toJSON());
  };
  await pc.setLocalDescription(await pc.createOffer());
  sig.send("session_subscriber", { type: "offer", sdp: pc.localDescription.sdp });
  sig.send("get_channels");
  let subscribed = false;
  for (;;) {
    const msg = await sig.next(10000);
    if (msg.Key === "channels" && !subscribed) {
      const ids = (msg.Value || []).map((c) => String(typeof c === "object" ? c.ChannelId : c));
      if (!ids.includes(String(opts.channelId))) throw new Error("stream not live");
      sig.send("connect_subscriber", { ChannelId: String(opts.channelId) });
      subscribed = true;
    } else if (msg.Key === "sd_answer") {
      const sdp = typeof msg.Value === "string" ? msg.Value : msg.Value.sdp;
      await pc.setRemoteDescription({ type: "answer", sdp });
      break;
    } else if (msg.Key === "error") {
      throw new Error(`stream server: ${msg.Value}`);
    }
  }
  await play(video);
  window.stn.state = "live";
  window.stn.leave = () => { pc.close(); sig.close(); window.stn.state = "closed"; };
  return true;
}

/** Generation C order (newest web): gather first, then session_subscriber; connect_subscriber
 * and session_state_changed State 3 on session_received. */
async function viewGathered(opts) {
  window.stn.state = "connecting";
  const sig = await signalling(opts);
  sig.send("ping");
  for (let tries = 0; ; tries++) {
    sig.send("get_channels", {});
    let msg = await sig.next();
    while (msg.Key !== "channels") msg = await sig.next();
    const ids = (msg.Value || []).map((c) => String(typeof c === "object" ? c.ChannelId : c));
    if (ids.includes(String(opts.channelId))) break;
    if (tries > 10) throw new Error(`channel ${opts.channelId} is not live`);
    await new Promise((ok) => setTimeout(ok, 500));
  }
  const pc = new RTCPeerConnection({ iceServers: [] });
  window.stn.pc = pc;
  pc.addTransceiver("audio", { direction: "recvonly" });
  pc.addTransceiver("video", { direction: "recvonly" });
  const video = receive(pc);
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  sig.send("session_subscriber", { type: "offer", sdp: pc.localDescription.sdp });
  for (;;) {
    const msg = await sig.next(10000);
    if (msg.Key === "session_received") {
      sig.send("connect_subscriber", { ChannelId: String(opts.channelId) });
      sig.send("session_state_changed", {}, { State: 3 });
    } else if (msg.Key === "sd_answer") {
      const sdp = typeof msg.Value === "string" ? msg.Value : msg.Value.sdp;
      await pc.setRemoteDescription({ type: "answer", sdp });
      break;
    } else if (msg.Key === "ice_candidate") {
      // before the answer: nothing to add them to yet (the server puts its own in the SDP)
    } else if (msg.Key === "error") {
      throw new Error(`stream server: ${msg.Value}`);
    }
  }
  (async () => {  // keep reading: trickled candidates, channel_closed
    for (;;) {
      let msg;
      try { msg = await sig.next(3600000); } catch { return; }
      if (msg.Key === "ice_candidate") await addCandidate(pc, msg.Value);
      if (msg.Key === "channel_closed") window.stn.state = "ended";
    }
  })();
  await play(video);
  window.stn.state = "live";
  window.stn.leave = () => {
    sig.send("session_state_changed", {}, { State: 5 });
    pc.close();
    sig.close();
    window.stn.state = "closed";
  };
  return true;
}

window.stnPublish = async (opts) => {
  window.stn.state = "connecting";
  const media = await navigator.mediaDevices.getUserMedia({
    video: { width: opts.width || 640, height: opts.height || 480, frameRate: opts.fps || 30 },
    audio: true,
  });
  const video = document.querySelector("video");
  video.muted = true;
  video.srcObject = media;
  await video.play();
  const pc = new RTCPeerConnection({ iceServers: [] });
  window.stn.pc = pc;
  for (const track of media.getTracks()) pc.addTransceiver(track, { direction: "sendonly" });
  const connected = new Promise((ok) => {
    pc.oniceconnectionstatechange = () => {
      note(`ice ${pc.iceConnectionState}`);
      if (["connected", "completed"].includes(pc.iceConnectionState)) ok();
    };
  });
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const sig = await signalling({ ...opts, publisher: true });
  sig.send("ping");
  sig.send("session_publisher", { type: "offer", sdp: pc.localDescription.sdp });
  for (;;) {
    const msg = await sig.next(10000);
    if (msg.Key === "sd_answer") {
      const sdp = typeof msg.Value === "string" ? msg.Value : msg.Value.sdp;
      await pc.setRemoteDescription({ type: "answer", sdp });
      break;
    }
    if (msg.Key === "ice_candidate") await addCandidate(pc, msg.Value);
    if (msg.Key === "error") throw new Error(`stream server: ${msg.Value}`);
  }
  await connected;
  sig.send("connect_publisher", { ChannelId: String(opts.channelId) });
  for (;;) {
    const msg = await sig.next(10000);
    if (msg.Key === "connect_publisher") break;
    if (msg.Key === "error") throw new Error(`stream server: ${msg.Value}`);
  }
  window.stn.state = "live";
  window.stn.stop = () => {
    sig.send("stop_publisher", { ChannelId: String(opts.channelId), Password: "", FileUrl: "" });
    for (const track of media.getTracks()) track.stop();
    pc.close();
    sig.close();
    window.stn.state = "closed";
  };
  return true;
};
