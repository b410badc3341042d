"""Local stand-ins for the Telegram Bot API and Discord's REST API, for the crash test:
one threaded HTTP server on loopback that speaks the documented JSON, records every
message the daemon sends, and (as Discord does) creates a message once per `nonce` when
`enforce_nonce` is set (Discord keeps a nonce for a few minutes; every resend here
comes within seconds of a restart, so the stand-in keeps them for its whole run). A
message is recorded before its answer is written, as a real server has it once it
answered."""

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TELEGRAM_TOKEN = "123456:CRASH-token"
DISCORD_APP_ID = 4242
# RFC 8032's first test key: any valid Ed25519 public key does for endpoint mode.
DISCORD_PUBLIC_KEY = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # the daemon was killed mid-request: nothing to report


class FakeChat:
    def __init__(self, latency=0.002):
        self.latency = latency
        self.lock = threading.Lock()
        self.telegram = []  # (chat_id, text) per sendMessage answered ok
        self.discord_posts = []  # (channel_id, nonce) per message POST
        self.discord_created = {}  # nonce -> channel_id: messages Discord shows
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()

    def config(self):
        """The [telegram] and [discord] settings pointing the daemon here."""
        return (f'bot_token = "{TELEGRAM_TOKEN}"\nbot_username = "crash_bot"\napi_url = "{self.url}"\n',
                f'bot_token = "Bot.CRASH"\napplication_id = {DISCORD_APP_ID}\n'
                f'public_key = "{DISCORD_PUBLIC_KEY}"\napi_proxy = "{self.url}"\n')

    def _telegram(self, method, params):
        if method == "getme":
            return {"id": 777, "is_bot": True, "first_name": "Crash", "username": "crash_bot",
                    "can_join_groups": True, "can_read_all_group_messages": False,
                    "supports_inline_queries": False, "has_main_web_app": False}
        if method == "getupdates":
            time.sleep(min(float(params.get("timeout", 0) or 0), 1.0))
            return []
        if method == "sendmessage":
            time.sleep(self.latency)
            chat = int(params["chat_id"])
            with self.lock:
                self.telegram.append((chat, params.get("text", "")))
            return {"message_id": len(self.telegram), "date": int(time.time()),
                    "chat": {"id": chat, "type": "private", "first_name": "P"},
                    "from": {"id": 777, "is_bot": True, "first_name": "Crash", "username": "crash_bot"},
                    "text": params.get("text", "")}
        if method in ("setmycommands", "deletewebhook", "setwebhook"):
            return True
        if method == "getwebhookinfo":
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        return None

    def _discord(self, verb, path, body):
        if path.endswith("/commands"):
            return [dict(c, id=str(1000 + i), application_id=str(DISCORD_APP_ID), version="1",
                         type=c.get("type", 1), default_member_permissions=None)
                    for i, c in enumerate(body if isinstance(body, list) else [])]
        if path.endswith("/users/@me/channels"):
            user = str(body["recipient_id"])
            return {"id": user, "type": 1, "last_message_id": None,
                    "recipients": [{"id": user, "username": "p", "discriminator": "0", "avatar": None}]}
        found = re.fullmatch(r"/api/v10/channels/(\d+)/messages", path)
        if verb == "POST" and found:
            time.sleep(self.latency)
            channel, nonce = found.group(1), body.get("nonce")
            with self.lock:
                self.discord_posts.append((channel, nonce))
                key = nonce if body.get("enforce_nonce") and nonce else ("post", len(self.discord_posts))
                self.discord_created.setdefault(key, channel)
            return {"id": str(900000000000000000 + len(self.discord_posts)), "channel_id": channel,
                    "content": "", "nonce": nonce, "author": {"id": str(DISCORD_APP_ID), "username": "crash",
                                                              "discriminator": "0", "avatar": None, "bot": True},
                    "timestamp": "2026-11-24T00:00:00.000000+00:00", "edited_timestamp": None, "tts": False,
                    "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [],
                    "embeds": [], "pinned": False, "type": 0, "flags": 0}
        return None

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, status, value):
                data = json.dumps(value).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self):
                raw = self.rfile.read(int(self.headers.get("content-length", 0) or 0))
                kind = self.headers.get("content-type", "")
                if kind.startswith("multipart/"):
                    found = re.search(rb'name="payload_json"\r\n(?:[^\r\n]*\r\n)*\r\n(.*?)\r\n--', raw, re.S)
                    return json.loads(found.group(1)) if found else {}
                try:
                    return json.loads(raw or b"{}")
                except ValueError:
                    return {}

            def _any(self):
                body = self._body()
                tg = re.fullmatch(r"/bot[^/]+/(\w+)", self.path)
                if tg:
                    result = fake._telegram(tg.group(1).lower(), body)
                    if result is None:
                        return self._answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                    return self._answer(200, {"ok": True, "result": result})
                result = fake._discord(self.command, self.path, body)
                if result is None:
                    return self._answer(404, {"message": "Unknown route", "code": 0})
                return self._answer(200, result)

            do_GET = do_POST = do_PUT = do_PATCH = _any

        return Handler
