// The card's body: fetches player credentials from Home Assistant, runs the RTC (or preview) player
// while the card is on screen, and shows the avatar's state the way HA shows any entity state.
import { PreviewPlayer, RtcPlayer } from "./zego-avatar-players.js";
import { DEFAULTS, translator } from "./zego-avatar-card-strings.js";

const DOMAIN = "zego_digital_human";
const COMMAND = `${DOMAIN}/player_credentials`;
// A view switch detaches and re-attaches cards within a moment; only a longer absence logs out.
const GRACE_MS = 2000;
const BACKOFF_MAX_S = 60;
// Errors that another attempt with the same configuration cannot fix.
const PERMANENT = { not_found: "not_avatar", unauthorized: "no_access" };

const STATE_COLORS = {
  offline: "var(--state-inactive-color, var(--disabled-text-color, #9e9e9e))",
  starting: "var(--warning-color, #ffa600)",
  ready: "var(--success-color, #43a047)",
  speaking: "var(--info-color, var(--primary-color, #039be5))",
  error: "var(--error-color, #db4437)",
};

const STYLE = `
  :host { display: block; height: 100%; }
  ha-card { overflow: hidden; height: 100%; display: flex; flex-direction: column; }
  .media {
    position: relative; flex: 1 1 auto; aspect-ratio: var(--zego-ratio, 9 / 16); cursor: pointer;
    max-height: var(--zego-max-height, 80vh);
    background: var(--secondary-background-color, #e5e5e5); user-select: none; -webkit-user-select: none;
  }
  .layer { position: absolute; inset: 0; width: 100%; height: 100%; }
  .layer[hidden] { display: none; }
  .video, .face { background: #000; }
  .poster { object-fit: var(--zego-fit, contain); }
  .video video { width: 100% !important; height: 100% !important; object-fit: var(--zego-fit, contain) !important; }
  .placeholder { display: flex; align-items: center; justify-content: center; color: var(--secondary-text-color); }
  .placeholder ha-icon { --mdc-icon-size: 72px; opacity: 0.5; }
  .face { display: flex; align-items: center; justify-content: center; }
  .face-frame { position: relative; max-width: 100%; max-height: 100%; aspect-ratio: var(--zego-face-ratio, 1); }
  :host([fit="cover"]) .face-frame { width: 100%; height: 100%; aspect-ratio: auto; }
  .face-svg { display: block; }
  .face-frame img { width: 100%; height: 100%; object-fit: var(--zego-fit, contain); display: block; }
  .mouth {
    position: absolute; left: 50%; top: var(--zego-mouth-y, 70%); width: 18%; height: 12%;
    transform: translate(-50%, -50%) scaleY(calc(0.08 + var(--zego-level, 0) * 0.92));
    border-radius: 50%; background: #5a1d1d; box-shadow: inset 0 -3px 0 #c44; transition: transform 40ms linear;
  }
  .chip {
    position: absolute; top: 12px; left: 12px; display: inline-flex; align-items: center; gap: 6px;
    padding: 4px 10px 4px 8px; border-radius: 16px; font-size: 13px; font-weight: 500; line-height: 18px;
    color: var(--primary-text-color);
    background: color-mix(in srgb, var(--card-background-color, #fff) 85%, transparent);
    box-shadow: var(--ha-card-box-shadow, 0 1px 3px rgba(0, 0, 0, 0.2)); backdrop-filter: blur(4px);
  }
  .dot { width: 10px; height: 10px; border-radius: 50%; background: var(--zego-state-color); flex: none; }
  :host([state="speaking"]) .dot, :host([state="starting"]) .dot { animation: pulse 1s ease-in-out infinite; }
  @keyframes pulse { 50% { transform: scale(1.35); opacity: 0.6; } }
  .badge {
    position: absolute; top: 12px; right: 12px; padding: 2px 8px; border-radius: 10px; font-size: 11px;
    color: var(--text-primary-color, #fff); background: var(--primary-color); opacity: 0.9;
  }
  .overlay {
    position: absolute; left: 50%; bottom: 56px; transform: translateX(-50%); display: inline-flex;
    align-items: center; gap: 8px; padding: 10px 18px; border-radius: 24px; border: none; font: inherit;
    font-size: 15px; font-weight: 500; cursor: pointer; color: var(--text-primary-color, #fff);
    background: var(--primary-color, #03a9f4); box-shadow: 0 2px 8px rgba(0, 0, 0, 0.35);
  }
  .overlay[hidden], .badge[hidden], .note[hidden] { display: none; }
  .footer {
    display: flex; align-items: center; gap: 8px; padding: 10px 16px; min-height: 24px;
    color: var(--primary-text-color); font-size: 15px;
  }
  .name { flex: 1; font-weight: 500; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .note { color: var(--secondary-text-color); font-size: 13px; }
  .sound { color: var(--secondary-text-color); --mdc-icon-size: 20px; }
`;

/** "9:16", "9/16" or a number -> a CSS aspect-ratio value. */
function ratio(value) {
  const match = String(value ?? "").match(/^\s*(\d+(?:\.\d+)?)\s*[:/x]\s*(\d+(?:\.\d+)?)\s*$/);
  if (match && Number(match[2]) > 0) return `${match[1]} / ${match[2]}`;
  const number = Number(value);
  return number > 0 ? String(number) : "9 / 16";
}

class ZegoAvatarCardView extends HTMLElement {
  constructor() {
    super();
    this._gen = 0;
    this._attempt = 0;
    this._media = { live: false, muted: false, blocked: false, speaking: false, reconnecting: false };
    this._status = "idle"; // idle | connecting | connected | retrying | error
    this._wakers = new Set();
    this._onVisibility = () => this._visibilityChanged();
    this._onReady = () => this._haReconnected();
    this.attachShadow({ mode: "open" });
  }

  setConfig(config) {
    const old = this._config;
    this._config = { ...DEFAULTS, ...config };
    this._build();
    if (old && old.entity !== this._config.entity) {
      this._stop();
      this._maybeStart();
    }
    this._render();
  }

  set hass(hass) {
    const old = this._hass;
    this._hass = hass;
    if (old?.connection !== hass?.connection) {
      old?.connection?.removeEventListener?.("ready", this._onReady);
      hass?.connection?.addEventListener?.("ready", this._onReady);
    }
    this._maybeStart();
    this._render();
  }

  connectedCallback() {
    clearTimeout(this._stopTimer);
    document.addEventListener("visibilitychange", this._onVisibility);
    this._hass?.connection?.addEventListener?.("ready", this._onReady);
    this._maybeStart();
  }

  disconnectedCallback() {
    document.removeEventListener("visibilitychange", this._onVisibility);
    this._hass?.connection?.removeEventListener?.("ready", this._onReady);
    clearTimeout(this._stopTimer);
    this._stopTimer = setTimeout(() => this._stop(), GRACE_MS);
  }

  _visibilityChanged() {
    clearTimeout(this._stopTimer);
    if (document.visibilityState === "hidden") this._stopTimer = setTimeout(() => this._stop(), GRACE_MS);
    else this._maybeStart();
  }

  _haReconnected() {
    // HA is back (restart or network): anything waiting on it goes now instead of at its backoff.
    for (const wake of this._wakers) wake();
    if (this._status === "retrying" || this._status === "error") {
      clearTimeout(this._retryTimer);
      this._stop(false);
      this._maybeStart();
    }
  }

  _sleep(ms) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this._wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this._wakers.add(done);
    });
  }

  _wanted() {
    return Boolean(
      this.isConnected && this._hass && this._config?.entity && document.visibilityState !== "hidden",
    );
  }

  _maybeStart() {
    clearTimeout(this._stopTimer);
    if (!this._wanted() || this._status !== "idle") return;
    this._run(++this._gen);
  }

  async _run(gen) {
    this._status = "connecting";
    this._render();
    let player;
    try {
      const cred = await this._hass.callWS({ type: COMMAND, entity_id: this._config.entity });
      if (gen !== this._gen) return;
      this._cred = cred;
      this._media = { live: Boolean(cred.streaming), muted: false, blocked: false, speaking: false, reconnecting: false };
      this._render();
      const Player = cred.kind === "preview" && cred.preview ? PreviewPlayer : RtcPlayer;
      player = this._player = new Player(this._host(gen), cred);
      await player.start();
      if (gen !== this._gen) return;
      this._attempt = 0;
      this._status = "connected";
      this._problem = null;
    } catch (err) {
      if (gen !== this._gen) return;
      player?.stop();
      this._player = null;
      const permanent = PERMANENT[err?.code];
      this._problem = permanent ?? (err?.code === "not_ready" ? "not_ready" : "retrying");
      // A setting or permission problem waits for a change (or HA coming back); the rest backs off.
      this._status = permanent ? "error" : "retrying";
      if (!permanent) this._retryLater(gen);
    }
    this._render();
  }

  _retryLater(gen) {
    const seconds = Math.min(BACKOFF_MAX_S, 2 ** this._attempt) * (0.75 + Math.random() * 0.5);
    this._attempt += 1;
    clearTimeout(this._retryTimer);
    this._retryTimer = setTimeout(() => {
      if (gen !== this._gen) return;
      this._stop(false);
      this._maybeStart();
    }, seconds * 1000);
  }

  _host(gen) {
    const view = this;
    return {
      box: this._els.video,
      sound: this._config.sound,
      fit: this._config.fit,
      update(patch) {
        if (gen !== view._gen) return;
        Object.assign(view._media, patch);
        view._render();
      },
      level(x) {
        if (gen !== view._gen) return;
        view._els.media.style.setProperty("--zego-level", x.toFixed(3));
        // The emulator's face has its own mouth: open it with the sound.
        if (view._mouth) view._mouth.style.transform = `scaleY(${(0.12 + 0.88 * x).toFixed(3)})`;
      },
      renew: () => this._renew(gen),
      lost: () => {
        if (gen !== this._gen || this._status === "retrying") return;
        this._player?.stop();
        this._player = null;
        this._status = "retrying";
        this._problem = "retrying";
        this._render();
        this._retryLater(gen);
      },
    };
  }

  /** Fresh credentials for the same ZEGO user; keeps trying (HA may be restarting) while wanted. */
  async _renew(gen) {
    for (let attempt = 0; gen === this._gen; attempt += 1) {
      try {
        const cred = await this._hass.callWS({
          type: COMMAND,
          entity_id: this._config.entity,
          user_id: this._cred.user_id,
        });
        if (gen === this._gen) this._cred = { ...this._cred, ...cred };
        return cred;
      } catch (err) {
        if (PERMANENT[err?.code]) throw err;
        await this._sleep(Math.min(30, 2 ** attempt) * 1000);
      }
    }
    throw new Error("card stopped");
  }

  /** Log out (each logged-in viewer costs RTC minutes) and forget the session. */
  _stop(resetBackoff = true) {
    this._gen += 1;
    clearTimeout(this._retryTimer);
    for (const wake of this._wakers) wake();
    this._player?.stop();
    this._player = null;
    this._status = "idle";
    if (resetBackoff) this._attempt = 0;
    this._media = { ...this._media, speaking: false, reconnecting: false, blocked: false };
    this._render();
  }

  _tap(ev) {
    const player = this._player;
    const media = this._media;
    if (player && media.live && (media.blocked || media.muted) && ev.target.closest?.(".overlay")) {
      player.unlock();
      return;
    }
    const action = this._config.tap_action;
    if (action === "none") return;
    if (action === "start" && !media.live) {
      const entityId = this._cred?.entities?.media_player ?? this._config.entity;
      this._hass.callService("media_player", "turn_on", { entity_id: entityId });
      this._starting = true;
      this._render();
      return;
    }
    if (player && media.live) {
      if (media.blocked || media.muted) player.unlock();
      else if (action === "sound") player.setMuted(true);
    }
  }

  _build() {
    if (this._els) return;
    this.shadowRoot.innerHTML = `
      <style>${STYLE}</style>
      <ha-card>
        <div class="media" part="media">
          <div class="layer placeholder"><ha-icon icon="mdi:account-voice"></ha-icon></div>
          <img class="layer poster" alt="" hidden>
          <div class="layer face" hidden><div class="face-frame"><img alt=""><div class="mouth"></div></div></div>
          <div class="layer video"></div>
          <div class="chip"><span class="dot"></span><span class="state"></span></div>
          <span class="badge" hidden></span>
          <button class="overlay" type="button" hidden><ha-icon></ha-icon><span></span></button>
        </div>
        <div class="footer">
          <span class="name"></span><span class="note" hidden></span><ha-icon class="sound" hidden></ha-icon>
        </div>
      </ha-card>`;
    const $ = (selector) => this.shadowRoot.querySelector(selector);
    this._els = {
      media: $(".media"),
      placeholder: $(".placeholder"),
      poster: $(".poster"),
      face: $(".face"),
      faceImg: $(".face img"),
      faceFrame: $(".face-frame"),
      video: $(".video"),
      chip: $(".chip"),
      state: $(".state"),
      badge: $(".badge"),
      overlay: $(".overlay"),
      overlayIcon: $(".overlay ha-icon"),
      overlayText: $(".overlay span"),
      name: $(".name"),
      note: $(".note"),
      sound: $(".sound"),
    };
    this._els.media.addEventListener("click", (ev) => this._tap(ev));
    // An expired or unreachable portrait shows the icon instead of a broken image.
    this._els.poster.addEventListener("error", () => {
      this._posterFailed = this._els.poster.getAttribute("src");
      this._render();
    });
    this._els.faceImg.addEventListener("load", () => {
      const img = this._els.faceImg;
      if (img.naturalWidth) this._els.face.style.setProperty("--zego-face-ratio", `${img.naturalWidth} / ${img.naturalHeight}`);
    });
  }

  /**
   * The preview's stand-in face. An SVG with an element id="mouth" is put inline so that its own
   * mouth can move; any other picture is shown as an image with the card's drawn mouth on top.
   */
  async _loadFace(url) {
    this._faceUrl = url;
    const els = this._els;
    try {
      const response = await fetch(url, { credentials: "omit" });
      const text = await response.text();
      if (this._faceUrl !== url) return;
      const svg = new DOMParser().parseFromString(text, "image/svg+xml").documentElement;
      if (!response.ok || svg.localName !== "svg" || !svg.querySelector("#mouth")) throw new Error("no mouth");
      // Only drawing: nothing in it may run.
      for (const el of svg.querySelectorAll("script, foreignObject")) el.remove();
      for (const el of [svg, ...svg.querySelectorAll("*")]) {
        for (const attr of [...el.attributes]) if (attr.name.toLowerCase().startsWith("on")) el.removeAttribute(attr.name);
      }
      svg.setAttribute("width", "100%");
      svg.setAttribute("height", "100%");
      svg.classList.add("face-svg");
      const node = document.importNode(svg, true);
      els.face.replaceChildren(node);
      this._faceSvg = node;
      this._mouth = node.querySelector("#mouth");
    } catch {
      if (this._faceUrl !== url) return;
      els.face.replaceChildren(els.faceFrame);
      els.faceImg.src = url;
      this._faceSvg = null;
      this._mouth = null;
    }
    this._render();
  }

  /** The avatar-state sensor: named by the credentials, else found beside the media player. */
  _stateEntity() {
    const fromCred = this._cred?.entities?.state;
    if (fromCred) return fromCred;
    const entities = this._hass?.entities ?? {};
    const device = entities[this._config.entity]?.device_id;
    if (!device) return undefined;
    return Object.values(entities).find(
      (e) => e.device_id === device && e.platform === DOMAIN && e.translation_key === "avatar_state",
    )?.entity_id;
  }

  _render() {
    if (!this._els || !this._config) return;
    const hass = this._hass;
    const t = translator(hass);
    const els = this._els;
    const media = this._media;
    const cred = this._cred;
    const preview = cred?.kind === "preview";

    this.setAttribute("fit", this._config.fit);
    els.media.style.setProperty("--zego-ratio", ratio(this._config.aspect_ratio));
    els.media.style.setProperty("--zego-fit", this._config.fit === "cover" ? "cover" : "contain");

    // State: HA's own formatting of the avatar-state sensor; the preview's own audio wins while it plays.
    const stateObj = hass?.states?.[this._stateEntity()];
    let state = stateObj?.state;
    if (media.speaking) state = "speaking";
    if (state !== "starting") this._starting = false;
    let label;
    if (!this._config.entity) label = t("pick_avatar");
    else if (this._status === "error") label = t(this._problem);
    else if (stateObj && state) {
      label = hass.formatEntityState
        ? hass.formatEntityState(stateObj, state)
        : hass.localize(`component.${DOMAIN}.entity.sensor.avatar_state.state.${state}`) || state;
    } else label = t("connecting");
    const shown = this._status === "error" ? "error" : state ?? "offline";
    this.setAttribute("state", shown);
    els.chip.dataset.state = shown;
    els.chip.style.setProperty("--zego-state-color", STATE_COLORS[shown] ?? STATE_COLORS.offline);
    els.state.textContent = label;

    const player = hass?.states?.[cred?.entities?.media_player ?? this._config.entity];
    els.name.textContent = player?.attributes?.friendly_name ?? this._config.entity ?? "";

    // What fills the frame: live video / the preview face, else the portrait, else an icon.
    const live = media.live && this._status === "connected";
    els.video.hidden = !live || preview;
    els.face.hidden = !live || !preview;
    if (preview && cred.preview.face_url && this._faceUrl !== cred.preview.face_url) {
      this._loadFace(cred.preview.face_url);
    }
    if (this._faceSvg) {
      this._faceSvg.setAttribute("preserveAspectRatio", this._config.fit === "cover" ? "xMidYMid slice" : "xMidYMid meet");
    }
    const poster = cred?.poster && cred.poster !== this._posterFailed ? cred.poster : null;
    if (poster && els.poster.getAttribute("src") !== poster) els.poster.src = poster;
    els.poster.hidden = live || !poster;
    els.placeholder.hidden = live || Boolean(poster);
    els.badge.hidden = !preview;
    els.badge.textContent = t("preview");

    // The one call to action: sound first, then starting the avatar.
    let overlay = null;
    if (live && media.blocked) overlay = ["mdi:play", t("tap_to_play")];
    else if (live && media.muted) overlay = ["mdi:volume-high", t("tap_for_sound")];
    else if (!live && this._status === "connected" && this._config.tap_action === "start") {
      overlay = this._starting ? ["mdi:timer-sand", t("starting")] : ["mdi:play-circle", t("tap_to_start")];
    }
    els.overlay.hidden = !overlay;
    if (overlay) {
      els.overlayIcon.setAttribute("icon", overlay[0]);
      els.overlayText.textContent = overlay[1];
    }
    els.overlay.dataset.action = overlay ? overlay[0] : "";

    let note = null;
    if (this._status === "connecting") note = t("connecting");
    else if (this._status === "retrying" || media.reconnecting) note = t(this._problem === "not_ready" ? "not_ready" : "retrying");
    else if (this._status === "connected" && !media.live) note = t("not_live");
    els.note.hidden = !note;
    els.note.textContent = note ?? "";
    els.sound.hidden = !live;
    els.sound.setAttribute("icon", media.muted || media.blocked ? "mdi:volume-off" : "mdi:volume-high");
    this.dataset.status = this._status;
  }
}

if (!customElements.get("zego-avatar-card-view")) {
  customElements.define("zego-avatar-card-view", ZegoAvatarCardView);
}
