// The two ways the card shows an avatar: the ZEGO RTC stream (a real account) and the emulator's
// preview feed (a stand-in face animated from the PCM the emulator receives). Both talk to the card
// through the same small "host" object:
//   host.box            the element the video (or face) goes into
//   host.sound          "auto" | "muted" | "unmuted"
//   host.fit            "contain" | "cover"
//   host.update(patch)  live / muted / blocked / speaking / reconnecting changed
//   host.level(x)       the preview's audio level, 0..1, once per animation frame while it plays
//   host.renew()        a promise of fresh credentials for the same user_id (retried by the card)
//   host.lost(reason)   the session is gone; the card tears down and logs in again with backoff

const version = new URL(import.meta.url).search;

/** The ZEGO Express Web SDK, imported only when a real RTC card starts (2 MB, 650 KB gzipped). */
const loadSdk = () => import(new URL(`./zego-sdk.js${version}`, import.meta.url).href);

const LOGIN_TIMEOUT_MS = 20000;

// Room states after which the SDK will not come back by itself.
const FATAL_ROOM_STATES = new Set(["LOGIN_FAILED", "RECONNECT_FAILED", "KICKOUT"]);

export class RtcPlayer {
  constructor(host, cred) {
    this.host = host;
    this.cred = cred;
    this.stopped = false;
  }

  async start() {
    const { ZegoExpressEngine } = await loadSdk();
    if (this.stopped) return;
    const { app_id, server, room_id, stream_id, token, user_id } = this.cred;
    const zg = (this.zg = new ZegoExpressEngine(app_id, server));
    // No SDK alert() pop-ups on a kiosk, and no log upload to ZEGO.
    zg.setDebugVerbose?.(false);
    zg.setLogConfig?.({ logLevel: "error", remoteLogLevel: "disable" });
    zg.on("roomStreamUpdate", (room, type, list) => {
      if (!list?.some((s) => s.streamID === stream_id)) return;
      if (type === "ADD") this.play();
      else this.unplay();
    });
    zg.on("tokenWillExpire", async (room) => {
      const fresh = await this.host.renew().catch(() => null);
      if (fresh && !this.stopped) zg.renewToken(fresh.token, room ?? room_id);
    });
    zg.on("roomStateChanged", (room, reason) => {
      if (this.stopped) return;
      if (FATAL_ROOM_STATES.has(reason)) this.host.lost(reason);
      else if (reason === "RECONNECTING") this.host.update({ reconnecting: true });
      else if (reason === "RECONNECTED" || reason === "LOGINED") this.host.update({ reconnecting: false });
    });
    zg.on("playerStateUpdate", (result) => {
      if (result?.streamID === stream_id && result.state === "NO_PLAY" && this.view) this.unplay();
    });
    const ok = await Promise.race([
      zg.loginRoom(room_id, token, { userID: user_id, userName: "Home Assistant" }),
      // No answer (network down): give up this attempt; the card retries with backoff.
      new Promise((_, reject) => setTimeout(() => reject(new Error("login timed out")), LOGIN_TIMEOUT_MS)),
    ]);
    if (this.stopped) return;
    if (ok === false) throw new Error("login refused");
    // Stream already live: play it now; otherwise roomStreamUpdate ADD picks it up later.
    if (this.cred.streaming) await this.play();
  }

  async play() {
    if (this.stopped || this.view || this.playing) return;
    this.playing = true;
    try {
      const stream = await this.zg.startPlayingStream(this.cred.stream_id, { video: true, audio: true });
      if (this.stopped) return;
      const view = (this.view = this.zg.createRemoteStreamView(stream));
      const muted = this.host.sound === "muted";
      view.on?.("autoplayFailed", () => this._autoplayFailed());
      view.play(this.host.box, {
        objectFit: this.host.fit,
        muted,
        enableAutoplayDialog: false,
      });
      this.muted = muted;
      this.host.update({ live: true, muted, blocked: false });
    } catch (err) {
      // Not published yet (or gone again): the next roomStreamUpdate ADD retries.
      this.host.update({ live: false });
    } finally {
      this.playing = false;
    }
  }

  _autoplayFailed() {
    if (!this.view || this.stopped) return;
    if (this.host.sound === "auto") {
      // Muted autoplay is allowed everywhere: show the face now, sound after a tap.
      this.view.setAudioMuted(true);
      this.view.resume?.();
      this.muted = true;
      this.host.update({ muted: true });
    } else {
      this.host.update({ blocked: true });
    }
  }

  /** Called from a tap (a user gesture): sound on, and play if the browser had blocked it. */
  unlock() {
    if (!this.view) return;
    this.view.setAudioMuted(false);
    this.view.resume?.();
    this.muted = false;
    this.host.update({ muted: false, blocked: false });
  }

  setMuted(muted) {
    if (!this.view) return;
    if (!muted) return this.unlock();
    this.view.setAudioMuted(true);
    this.muted = true;
    this.host.update({ muted: true });
  }

  unplay() {
    if (!this.zg) return;
    try {
      this.zg.stopPlayingStream(this.cred.stream_id);
      this.view?.stop?.();
    } catch {
      // Already gone on the SDK's side.
    }
    this.view = null;
    this.host.box.replaceChildren();
    this.host.update({ live: false });
  }

  stop() {
    if (this.stopped) return;
    this.stopped = true;
    const zg = this.zg;
    if (!zg) return;
    try {
      if (this.view) zg.stopPlayingStream(this.cred.stream_id);
      this.view?.stop?.();
      // Every logged-in viewer is billed by ZEGO: leave the room, then free the engine.
      zg.logoutRoom(this.cred.room_id);
      zg.destroyEngine?.();
    } catch {
      // Tearing down must never throw into the card.
    }
    this.view = null;
    this.host.box.replaceChildren();
  }
}

// Audio is scheduled this far ahead of the clock so that chunks play back to back.
const LEAD_S = 0.06;

export class PreviewPlayer {
  constructor(host, cred) {
    this.host = host;
    this.cred = cred;
    this.stopped = false;
    this.muted = host.sound === "muted";
    this.blocked = false;
    this.speaking = false;
    this.levels = []; // [{end: ms on performance.now(), level}] for when the audio clock is not running
  }

  start() {
    this._audio();
    return new Promise((resolve, reject) => {
      const ws = (this.ws = new WebSocket(this.cred.preview.feed_url));
      ws.binaryType = "arraybuffer";
      let loggedIn = false;
      ws.onopen = () => {
        const { token, user_id, room_id, stream_id } = this.cred;
        ws.send(JSON.stringify({ type: "login", token, user_id, room_id, stream_id }));
      };
      ws.onmessage = (ev) => {
        if (typeof ev.data !== "string") return this._pcm(ev.data);
        const msg = JSON.parse(ev.data);
        if (msg.type === "login") {
          if (msg.ok) {
            loggedIn = true;
            resolve();
          } else reject(new Error(msg.reason || "login refused"));
        } else this._message(msg);
      };
      ws.onclose = (ev) => {
        if (!loggedIn) reject(new Error(`feed closed (${ev.code})`));
        else if (!this.stopped) this.host.lost(`feed closed (${ev.code})`);
      };
    });
  }

  _audio() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    const ctx = (this.ctx = new Ctx());
    this.analyser = ctx.createAnalyser();
    this.analyser.fftSize = 512;
    this.samples = new Float32Array(this.analyser.fftSize);
    this.gain = ctx.createGain();
    this.analyser.connect(this.gain).connect(ctx.destination);
    this.gain.gain.value = this.muted ? 0 : 1;
    this.nextAt = 0;
    this.nextWall = 0;
    // Without a gesture the browser may keep the context suspended: that is "sound blocked".
    ctx.resume().catch(() => {});
    setTimeout(() => this._checkAutoplay(), 300);
  }

  _checkAutoplay() {
    if (this.stopped) return;
    if (this.ctx.state === "running") {
      this.host.update({ muted: this.muted, blocked: false });
      return;
    }
    if (this.host.sound === "unmuted") {
      this.blocked = true;
      this.host.update({ blocked: true });
    } else {
      this.muted = true;
      this.gain.gain.value = 0;
      this.host.update({ muted: true });
    }
  }

  _message(msg) {
    switch (msg.type) {
      case "stream":
        this.host.update({ live: Boolean(msg.live) });
        break;
      case "audio_start":
        this.rate = msg.sample_rate || 16000;
        this.ending = null;
        break;
      case "audio_end": {
        const endIn = Number(msg.playback_end_in) || 0;
        this.ending = Math.max(this.nextWall, performance.now() + endIn * 1000);
        break;
      }
      case "token_will_expire":
        this.host
          .renew()
          .then((fresh) => this.ws?.readyState === WebSocket.OPEN && this.ws.send(JSON.stringify({ type: "renew", token: fresh.token })))
          .catch(() => {});
        break;
      default:
        break;
    }
  }

  _pcm(buffer) {
    const pcm = new Int16Array(buffer);
    if (!pcm.length || this.stopped) return;
    const rate = this.rate || 16000;
    const floats = new Float32Array(pcm.length);
    let sum = 0;
    for (let i = 0; i < pcm.length; i += 1) {
      floats[i] = pcm[i] / 32768;
      sum += floats[i] * floats[i];
    }
    const seconds = pcm.length / rate;
    const now = performance.now();
    this.nextWall = Math.max(this.nextWall, now + LEAD_S * 1000) + seconds * 1000;
    this.levels.push({ end: this.nextWall, level: Math.min(1, Math.sqrt(sum / pcm.length) * 4) });
    if (this.ctx.state === "running") {
      const audio = this.ctx.createBuffer(1, pcm.length, rate);
      audio.copyToChannel(floats, 0);
      const source = this.ctx.createBufferSource();
      source.buffer = audio;
      source.connect(this.analyser);
      const at = Math.max(this.nextAt, this.ctx.currentTime + LEAD_S);
      source.start(at);
      this.nextAt = at + seconds;
    }
    if (!this.speaking) {
      this.speaking = true;
      this.host.update({ speaking: true });
      this._animate();
    }
  }

  _animate() {
    if (this.stopped) return;
    const now = performance.now();
    if (this.ending !== null && this.ending !== undefined && now >= this.ending && now >= this.nextWall) {
      this.speaking = false;
      this.levels = [];
      this.host.level(0);
      this.host.update({ speaking: false });
      return;
    }
    this.host.level(this._level(now));
    requestAnimationFrame(() => this._animate());
  }

  _level(now) {
    if (this.ctx.state === "running" && this.nextAt > this.ctx.currentTime) {
      this.analyser.getFloatTimeDomainData(this.samples);
      let sum = 0;
      for (const s of this.samples) sum += s * s;
      return Math.min(1, Math.sqrt(sum / this.samples.length) * 4);
    }
    // The audio clock is not running (sound blocked): follow the PCM's own level in wall time.
    while (this.levels.length && this.levels[0].end < now) this.levels.shift();
    return this.levels[0]?.level ?? 0;
  }

  /** Called from a tap (a user gesture): the audio context may start now. */
  unlock() {
    this.ctx.resume().then(() => {
      this.muted = false;
      this.blocked = false;
      this.gain.gain.value = 1;
      this.nextAt = this.ctx.currentTime;
      this.host.update({ muted: false, blocked: false });
    });
  }

  setMuted(muted) {
    if (!muted) return this.unlock();
    this.muted = true;
    this.gain.gain.value = 0;
    this.host.update({ muted: true });
  }

  stop() {
    if (this.stopped) return;
    this.stopped = true;
    try {
      this.ws?.close(1000);
    } catch {
      // Already closed.
    }
    this.ctx?.close().catch(() => {});
  }
}
