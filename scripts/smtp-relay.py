"""A minimal SMTP server for the tests: accepts mail on a loopback port and delivers
each recipient into Dovecot over LMTP, one LMTP transaction per recipient. Deliveries
run on a pool of threads, each with an LMTP connection it keeps, so that SMTP sessions
run side by side as on a real server (a blocking delivery on the event loop made every
session wait for the one before it, with a new LMTP connection per message: ~120
messages/s, the load benchmark's limit rather than promoterd's). Recipients
whose local part starts with "nouser-" are refused with 550 5.1.1, as a real server
refuses an unknown user.
Usage: smtp-relay.py SMTP_PORT LMTP_PORT"""
import asyncio
import concurrent.futures
import smtplib
import sys
import threading
import time

from aiosmtpd.controller import Controller

SMTP_PORT, LMTP_PORT = int(sys.argv[1]), int(sys.argv[2])


class Relay:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # Stands in for a real server's answer to an address that does not exist: a
        # permanent 5xx at RCPT time, for any local part starting with "nouser-".
        if address.split("@")[0].lower().startswith("nouser-"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        return await asyncio.get_running_loop().run_in_executor(POOL, deliver, envelope)


def deliver(envelope):
    """Delivers to each recipient in turn over this thread's LMTP connection; answers
    as the SMTP server does."""
    for rcpt in envelope.rcpt_tos:
        try:
            lmtp_send(envelope, rcpt)
        except smtplib.SMTPException as e:
            return f"451 delivery to {rcpt} failed: {e}"
    return "250 OK"


def lmtp_send(envelope, rcpt):
    """One LMTP transaction on the thread's kept connection. One idle for over a second
    is not trusted (Dovecot says 421 and closes idle sessions), and one Dovecot closed
    anyway is opened again: that fails at its first command, before any delivery (a
    close during the data itself, not seen in the tests, would deliver twice)."""
    kept, used = getattr(LOCAL, "lmtp", None) or (None, 0.0)
    LOCAL.lmtp = None
    if kept is not None and time.monotonic() - used > 1.0:
        kept.close()
        kept = None
    if kept is not None:
        try:
            kept.sendmail(envelope.mail_from, [rcpt], envelope.original_content)
            LOCAL.lmtp = (kept, time.monotonic())
            return
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            kept.close()
        except smtplib.SMTPResponseException as e:
            kept.close()
            if e.smtp_code != 421:
                raise
    lmtp = smtplib.LMTP("127.0.0.1", LMTP_PORT)
    lmtp.sendmail(envelope.mail_from, [rcpt], envelope.original_content)
    LOCAL.lmtp = (lmtp, time.monotonic())


LOCAL = threading.local()
# One thread per session promoterd keeps open (it sends 8 at a time), with room to spare.
POOL = concurrent.futures.ThreadPoolExecutor(max_workers=16)


controller = Controller(Relay(), hostname="127.0.0.1", port=SMTP_PORT)
controller.start()
try:
    asyncio.get_event_loop().run_forever()
finally:
    controller.stop()
