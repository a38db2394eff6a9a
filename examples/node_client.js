#!/usr/bin/env node
// A third-party Exotel Voice client written against docs/adapter-protocol.md (version 1):
// a tiny state machine of its own, no exovoice code. It speaks JSON lines on stdin/stdout and
// declares honestly what it lacks: no CallKit, audio routes, logs, feedback or real push
// payloads (it accepts any non-empty payload string and takes the caller from args.callerId).
"use strict";
const readline = require("readline");

const CAPABILITIES = ["core", "network", "pstn"];
const LIVE = new Set(["OUTGOING_INITIATED", "RINGING", "INCOMING", "ANSWERING", "ESTABLISHED",
  "MEDIA_DISRUPTED", "RENEWING_MEDIA"]);
const OUTGOING_PHASE = new Set(["OUTGOING_INITIATED", "RINGING"]);
const CALL_CALLBACKS = new Set(["onIncomingCall", "onCallInitiated", "onCallRinging",
  "onCallEstablished", "onMediaDisrupted", "onRenewingMedia", "onCallEnded", "onCallFailed"]);
const MESSAGE_OK = /^[A-Za-z0-9,:{}()\[\]]*$/;

let s;
function fresh() {
  s = { initialized: false, call: null, state: null, direction: null, pstn: "idle", n: 0,
        badToken: null };
}
fresh();

function send(obj) { process.stdout.write(JSON.stringify(obj) + "\n"); }
function event(name, args) {
  const line = { kind: "callback", name };
  if (s.call && CALL_CALLBACKS.has(name)) line.call = s.call;
  if (args) line.args = args;
  send({ event: line });
}
const live = () => s.state !== null && LIVE.has(s.state);
const exists = () => s.state !== null && s.state !== "ENDED";
function end(callback, args) { s.state = "ENDED"; event(callback, args); }

function api(name, args) {
  switch (name) {
    case "initialize": {
      const sub = args.subscriberName;
      if (typeof sub !== "string" || !/^[A-Za-z0-9]{1,15}$/.test(sub)) return { error: "INVALID_PARAMETER" };
      const bad = s.badToken;
      s.badToken = null; // the next initialize carries a new token
      if (bad === "fail") return { ok: () => event("onInitializationFailure", { error: "INTERNAL_ERROR" }) };
      if (bad) return { ok: () => event("onAuthenticationFailure", { error: bad }) };
      s.initialized = true;
      return { ok: () => event("onInitializationSuccess") };
    }
    case "dial": {
      if (!s.initialized) return { error: "SDK_UNINITIALIZED" };
      if (exists()) return { error: "SYSTEM_BUSY" };
      if (s.pstn !== "idle") return { error: "PSTN_CALL_INPROGRESS" };
      if (typeof args.remoteId !== "string" || !args.remoteId.trim()) return { error: "INVALID_DIAL_INFO" };
      if (args.message != null && (typeof args.message !== "string" || !MESSAGE_OK.test(args.message)))
        return { error: "INVALID_PARAMETER" };
      s.n += 1; s.call = "x" + s.n; s.state = "OUTGOING_INITIATED"; s.direction = "OUTGOING";
      return { call: s.call, ok: () => event("onCallInitiated") };
    }
    case "relaySessionData": {
      if (!s.initialized) return { error: "SDK_UNINITIALIZED" };
      if (args.payload !== undefined && (typeof args.payload !== "string" || !args.payload))
        return { error: "PAYLOAD_ERROR" };
      const caller = args.callerId || "+918047112327";
      if (exists() || s.pstn === "active" || args.ttl === 0)
        return { ok: () => event("onMissedCall", { remoteId: caller, time: new Date().toISOString() }) };
      s.n += 1; s.call = "x" + s.n; s.state = "INCOMING"; s.direction = "INCOMING";
      return { ok: () => event("onIncomingCall") };
    }
    case "answer":
      if (s.state !== "INCOMING") return { error: "INVALID_PARAMETER" };
      s.state = "ANSWERING";
      return { call: s.call, ok: () => { s.state = "ESTABLISHED"; event("onCallEstablished"); } };
    case "hangup":
      if (!live()) return { error: "INVALID_PARAMETER" };
      s.state = "ENDING";
      return { call: s.call, ok: () => end("onCallEnded", { endReason: "LOCAL_HANGUP" }) };
    case "stop": {
      // guide 4.10: refused while a call exists; onDeinitialized once, when it was initialized
      if (exists()) return { error: "SYSTEM_BUSY" };
      const was = s.initialized;
      s.initialized = false;
      return { ok: () => { if (was) event("onDeinitialized"); } };
    }
    case "reset": {
      // back to not initialized; a live call ends with it
      const hadCall = live();
      s.initialized = false;
      return { ok: () => { if (hadCall) { s.state = "ENDING"; end("onCallEnded", { endReason: "LOCAL_HANGUP" }); } } };
    }
    default:
      return { unknown: true };
  }
}

function network(name) {
  const st = s.state;
  const out = s.direction === "OUTGOING" && OUTGOING_PHASE.has(st);
  switch (name) {
    case "net_ringing": if (s.direction === "OUTGOING" && st === "OUTGOING_INITIATED") { s.state = "RINGING"; event("onCallRinging"); } break;
    case "net_answered":
      if (out) { s.state = "ESTABLISHED"; event("onCallEstablished"); } break;
    case "net_busy": if (out) end("onCallEnded", { endReason: "BUSY" }); break;
    case "net_no_answer": if (out || st === "INCOMING") end("onCallEnded", { endReason: "TIMEOUT" }); break;
    case "net_unreachable": if (out) end("onCallEnded", { endReason: "UNREACHABLE" }); break;
    case "net_congestion": if (out) end("onCallFailed", { error: "CONGESTION_ERROR" }); break;
    case "net_remote_hangup": if (live()) end("onCallEnded", { endReason: "REMOTE_HANGUP" }); break;
    case "net_failure": if (live()) end("onCallEnded", { endReason: "FAILURE" }); break;
    case "net_token_rejected":
      if (s.initialized) { s.initialized = false; event("onAuthenticationFailure", { error: "AUTHENTICATION_EXPIRED_TOKEN" }); }
      break;
    case "net_rtp_lost": if (st === "ESTABLISHED") { s.state = "MEDIA_DISRUPTED"; event("onMediaDisrupted"); } break;
    case "net_rtp_renewing": if (st === "MEDIA_DISRUPTED") { s.state = "RENEWING_MEDIA"; event("onRenewingMedia"); } break;
    case "net_rtp_restored": if (st === "MEDIA_DISRUPTED" || st === "RENEWING_MEDIA") { s.state = "ESTABLISHED"; event("onCallEstablished"); } break;
    case "net_media_timeout": if (st === "MEDIA_DISRUPTED" || st === "RENEWING_MEDIA") end("onCallEnded", { endReason: "MEDIA_TIMEOUT" }); break;
    default: break; // nothing answers it here
  }
}

function env(name) {
  switch (name) {
    case "pstnRinging": if (s.pstn === "idle") s.pstn = "ringing"; break;
    case "pstnDialed": if (s.pstn === "idle") s.pstn = "active"; break;
    case "pstnDeclined": if (s.pstn === "ringing") s.pstn = "idle"; break;
    case "pstnEnded": s.pstn = "idle"; break;
    case "pstnAnswered":
      if (s.pstn === "ringing") {
        s.pstn = "active";
        if (live()) { s.state = "ENDING"; end("onCallEnded", { endReason: "PSTN_HANGUP" }); }
      }
      break;
    default: break;
  }
}

// Platform controls this harness offers: the token the app holds goes bad (or the platform
// fails the next initialization). A bad token already in use is rejected at once.
const TOKEN_CONTROLS = { token_expired: "AUTHENTICATION_EXPIRED_TOKEN",
  token_invalid: "AUTHENTICATION_INVALID_TOKEN", init_fails: "fail" };
function token(kind) {
  if (kind !== "fail" && s.initialized) {
    s.initialized = false;
    event("onAuthenticationFailure", { error: kind });
  } else {
    s.badToken = kind;
  }
}

const rl = readline.createInterface({ input: process.stdin, terminal: false });
rl.on("line", (raw) => {
  if (!raw.trim()) return;
  let req;
  try { req = JSON.parse(raw); } catch (e) { send({ id: null, error: "bad request: " + e.message }); return; }
  const id = req.id;
  if (req.v !== 1) { send({ id, error: "protocol version " + req.v + " is not 1" }); return; }
  switch (req.op) {
    case "hello": fresh(); send({ id, v: 1, capabilities: CAPABILITIES }); break;
    case "api": {
      const r = api(req.name, req.args || {});
      if (r.unknown) { send({ id, error: "unsupported operation " + req.name }); break; }
      if (r.error) { send({ id, result: { error: r.error } }); break; }
      const ans = { id, result: "ok" };
      if (r.call) ans.call = r.call;
      if (r.ok) r.ok(); // what the request caused goes out before its answer
      send(ans);
      break;
    }
    case "stimulus":
      if (req.name in TOKEN_CONTROLS) token(TOKEN_CONTROLS[req.name]);
      else if (String(req.name).startsWith("net_")) network(req.name);
      else if (String(req.name).startsWith("pstn")) env(req.name);
      else { send({ id, error: "unsupported stimulus " + req.name }); break; }
      send({ id, ok: true });
      break;
    case "close": send({ id, ok: true }); rl.close(); break;
    default: send({ id, error: "unknown op " + req.op });
  }
});
rl.on("close", () => process.exit(0));
