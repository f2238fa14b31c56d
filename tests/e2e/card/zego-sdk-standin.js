// Test stand-in for the ZEGO Express Web SDK (served instead of zego-sdk.js in the browser tests
// only): records every call the card makes, in order, lets the test fire the SDK's events, and
// "plays" a drawn picture so screenshots show a live card. Nothing here reaches ZEGO.
const log = (window.__zegoStandIn = window.__zegoStandIn || { calls: [], engines: [] });

function record(name, args = []) {
  log.calls.push({ name, args: JSON.parse(JSON.stringify(args)), at: Date.now() });
}

/** Fire an SDK event on every live engine, as the real SDK would (used by the test). */
log.fire = (event, ...args) => {
  for (const engine of log.engines) {
    if (engine.destroyed) continue;
    for (const handler of engine.handlers[event] ?? []) handler(...args);
  }
};

function drawnStream() {
  const canvas = document.createElement("canvas");
  canvas.width = 360;
  canvas.height = 640;
  const g = canvas.getContext("2d");
  const grad = g.createLinearGradient(0, 0, 0, 640);
  grad.addColorStop(0, "#2b5876");
  grad.addColorStop(1, "#4e4376");
  g.fillStyle = grad;
  g.fillRect(0, 0, 360, 640);
  g.fillStyle = "#f2d0b5";
  g.beginPath();
  g.arc(180, 260, 110, 0, Math.PI * 2);
  g.fill();
  g.fillStyle = "#fff";
  g.font = "20px sans-serif";
  g.textAlign = "center";
  g.fillText("stand-in RTC stream", 180, 560);
  return canvas;
}

class StandInView {
  constructor() {
    this.handlers = {};
  }
  on(event, handler) {
    this.handlers[event] = handler;
  }
  play(container, options) {
    record("view.play", [options]);
    container.replaceChildren(drawnStream());
    const canvas = container.firstChild;
    canvas.style.cssText = `width:100%;height:100%;object-fit:${options?.objectFit ?? "contain"}`;
    if (!options?.muted && log.blockUnmuted) setTimeout(() => this.handlers.autoplayFailed?.(), 0);
  }
  setAudioMuted(muted) {
    record("view.setAudioMuted", [muted]);
  }
  resume() {
    record("view.resume");
  }
  stop() {
    record("view.stop");
  }
}

export class ZegoExpressEngine {
  constructor(appId, server) {
    record("new", [appId, server]);
    this.handlers = {};
    this.destroyed = false;
    log.engines.push(this);
  }
  setDebugVerbose(verbose) {
    record("setDebugVerbose", [verbose]);
  }
  setLogConfig(config) {
    record("setLogConfig", [config]);
  }
  on(event, handler) {
    (this.handlers[event] = this.handlers[event] ?? []).push(handler);
    return true;
  }
  off(event) {
    delete this.handlers[event];
    return true;
  }
  async loginRoom(roomId, token, user) {
    record("loginRoom", [roomId, token, user]);
    return true;
  }
  async startPlayingStream(streamId, option) {
    record("startPlayingStream", [streamId, option]);
    return new MediaStream();
  }
  createRemoteStreamView() {
    record("createRemoteStreamView");
    return new StandInView();
  }
  stopPlayingStream(streamId) {
    record("stopPlayingStream", [streamId]);
  }
  renewToken(token, roomId) {
    record("renewToken", [token, roomId]);
    return true;
  }
  logoutRoom(roomId) {
    record("logoutRoom", [roomId]);
  }
  destroyEngine() {
    record("destroyEngine");
    this.destroyed = true;
  }
}
