// The card's own words, in English and Simplified Chinese (picked by hass.language). Entity
// states are not here: Home Assistant translates those from the integration's translations.

/** The card's options at their defaults (shared by the card and its editor). */
export const DEFAULTS = { sound: "auto", aspect_ratio: "9:16", fit: "contain", tap_action: "sound" };

const STRINGS = {
  en: {
    pick_avatar: "Pick an avatar in the card's settings.",
    not_avatar: "This entity is not a ZEGO avatar.",
    no_access: "This user may not see this avatar.",
    not_ready: "The avatar's account is not loaded.",
    connecting: "Connecting…",
    retrying: "Connection lost, retrying…",
    tap_for_sound: "Tap for sound",
    tap_to_play: "Tap to play",
    tap_to_start: "Tap to start the avatar",
    starting: "Starting the avatar…",
    not_live: "Not streaming",
    preview: "Preview (emulator)",
    // editor
    entity: "Avatar",
    sound: "Sound",
    sound_auto: "Automatic (with sound where the browser allows it)",
    sound_muted: "Start muted",
    sound_unmuted: "With sound (wait for a tap if the browser blocks it)",
    aspect_ratio: "Aspect ratio (width:height)",
    fit: "Fit",
    fit_contain: "Show the whole picture",
    fit_cover: "Fill the card",
    tap_action: "Tap action",
    tap_none: "Nothing",
    tap_sound: "Sound on / off",
    tap_start: "Start the avatar's stream",
  },
  "zh-Hans": {
    pick_avatar: "请在卡片设置中选择一个数字人。",
    not_avatar: "该实体不是 ZEGO 数字人。",
    no_access: "此用户无权查看该数字人。",
    not_ready: "数字人所属的账户尚未加载。",
    connecting: "正在连接…",
    retrying: "连接中断，正在重试…",
    tap_for_sound: "点击开启声音",
    tap_to_play: "点击播放",
    tap_to_start: "点击启动数字人",
    starting: "正在启动数字人…",
    not_live: "未在推流",
    preview: "预览（模拟器）",
    entity: "数字人",
    sound: "声音",
    sound_auto: "自动（浏览器允许时有声播放）",
    sound_muted: "静音开始",
    sound_unmuted: "有声播放（浏览器阻止时等待点击）",
    aspect_ratio: "宽高比（宽:高）",
    fit: "适应方式",
    fit_contain: "显示完整画面",
    fit_cover: "填满卡片",
    tap_action: "点击动作",
    tap_none: "无",
    tap_sound: "开启 / 关闭声音",
    tap_start: "启动数字人的推流",
  },
};

/** A translator for the user's language: Chinese variants get Simplified Chinese, others English. */
export function translator(hass) {
  const lang = (hass?.language ?? "en").toLowerCase();
  const table = lang.startsWith("zh") ? STRINGS["zh-Hans"] : STRINGS.en;
  return (key) => table[key] ?? STRINGS.en[key] ?? key;
}
