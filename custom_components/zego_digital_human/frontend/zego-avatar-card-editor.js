// The card's visual editor: HA's own ha-form, so it looks and behaves like every built-in editor.
import { DEFAULTS, translator } from "./zego-avatar-card-strings.js";

const DOMAIN = "zego_digital_human";

function schema(t) {
  // Required: each has a default, so no "clear" button that would leave it empty.
  const choice = (name, values) => ({
    name,
    required: true,
    selector: {
      select: { mode: "dropdown", options: values.map((v) => ({ value: v, label: t(`${name.split("_")[0]}_${v}`) })) },
    },
  });
  return [
    {
      name: "entity",
      required: true,
      // Only our avatars: their media players are what the card plays and what "start" turns on.
      selector: { entity: { filter: { integration: DOMAIN, domain: "media_player" } } },
    },
    choice("sound", ["auto", "muted", "unmuted"]),
    {
      type: "grid",
      name: "",
      schema: [{ name: "aspect_ratio", selector: { text: {} } }, choice("fit", ["contain", "cover"])],
    },
    choice("tap_action", ["sound", "start", "none"]),
  ];
}

class ZegoAvatarCardEditor extends HTMLElement {
  setConfig(config) {
    this._config = config;
    this._render();
  }

  set hass(hass) {
    this._hass = hass;
    this._render();
  }

  _render() {
    if (!this._hass || !this._config) return;
    const t = translator(this._hass);
    if (!this._form) {
      this._form = document.createElement("ha-form");
      this._form.computeLabel = (field) => t(field.name);
      this._form.addEventListener("value-changed", (ev) => {
        ev.stopPropagation();
        const config = { ...ev.detail.value };
        // Keep saved YAML short: options at their default are left out.
        for (const [key, value] of Object.entries(DEFAULTS)) if (config[key] === value) delete config[key];
        this._config = config;
        this.dispatchEvent(new CustomEvent("config-changed", { detail: { config }, bubbles: true, composed: true }));
      });
      this.append(this._form);
    }
    this._form.hass = this._hass;
    this._form.schema = schema(t);
    this._form.data = { ...DEFAULTS, ...this._config };
  }
}

if (!customElements.get("zego-avatar-card-editor")) {
  customElements.define("zego-avatar-card-editor", ZegoAvatarCardEditor);
}
