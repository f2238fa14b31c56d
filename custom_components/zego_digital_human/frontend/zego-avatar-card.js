// ZEGO avatar card: the part every dashboard page loads. It stays tiny on purpose: it only
// registers the card (and its place in the card picker); the card's body, its editor and the
// 2 MB ZEGO SDK are imported the first time a card is actually created or edited.

const DOMAIN = "zego_digital_human";
// Lazily imported files keep this module's ?v= so a new release is never served from cache.
const version = new URL(import.meta.url).search;
const lazy = (file) => import(new URL(`./${file}${version}`, import.meta.url).href);

/** First of our avatars' media players, for a new card's default. */
const firstAvatar = (hass) =>
  Object.values(hass?.entities ?? {}).find(
    (entry) => entry.platform === DOMAIN && entry.entity_id.startsWith("media_player."),
  )?.entity_id;

class ZegoAvatarCard extends HTMLElement {
  static getStubConfig(hass) {
    return { entity: firstAvatar(hass) ?? "" };
  }

  static async getConfigElement() {
    await lazy("zego-avatar-card-editor.js");
    return document.createElement("zego-avatar-card-editor");
  }

  setConfig(config) {
    if (!config || typeof config !== "object") throw new Error("Invalid configuration");
    this._config = config;
    if (this._view) this._view.setConfig(config);
  }

  set hass(hass) {
    this._hass = hass;
    if (this._view) this._view.hass = hass;
  }

  get hass() {
    return this._hass;
  }

  getCardSize() {
    return 7;
  }

  getGridOptions() {
    return { columns: 6, min_columns: 3, rows: "auto" };
  }

  connectedCallback() {
    if (this._view) {
      if (!this._view.isConnected) this.append(this._view);
      return;
    }
    // The body lives in the light DOM of this element, so hui-card's sizing applies to it.
    lazy("zego-avatar-card-view.js").then(() => {
      if (this._view) return;
      this._view = document.createElement("zego-avatar-card-view");
      this._view.setConfig(this._config ?? {});
      if (this._hass) this._view.hass = this._hass;
      this.append(this._view);
    });
  }
}

function register() {
  if (customElements.get("zego-avatar-card")) return;
  customElements.define("zego-avatar-card", ZegoAvatarCard);
  window.customCards = window.customCards || [];
  window.customCards.push({
    type: "zego-avatar-card",
    name: "ZEGO avatar",
    description: "The ZEGO digital human's live video and voice, with its state.",
    preview: false,
    documentationURL: "https://github.com/zego-digital-human-ha/zego-digital-human-ha#kiosk-the-avatar-card",
  });
}

// Loaded from the page's head, this can run before HA's app swaps in its scoped custom-element
// registry, which does not see elements defined earlier ("Custom element doesn't exist"). So wait
// for the app's root element; elsewhere (a Cast receiver, or loaded later as a resource) at once.
if (document.querySelector("home-assistant")) customElements.whenDefined("home-assistant").then(register);
else register();
