// The one symbol the dashboard card needs from the ZEGO Express Web SDK.
export { ZegoExpressEngine } from "zego-express-engine-webrtc";
