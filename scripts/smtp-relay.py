"""A minimal SMTP server for the tests: accepts mail on a loopback port and delivers
each recipient into Dovecot over LMTP, one LMTP transaction per recipient. Recipients
whose local part starts with "nouser-" are refused with 550 5.1.1, as a real server
refuses an unknown user.
Usage: smtp-relay.py SMTP_PORT LMTP_PORT"""
import asyncio
import smtplib
import sys

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
        for rcpt in envelope.rcpt_tos:
            try:
                with smtplib.LMTP("127.0.0.1", LMTP_PORT) as lmtp:
                    lmtp.sendmail(envelope.mail_from, [rcpt], envelope.original_content)
            except smtplib.SMTPException as e:
                return f"451 delivery to {rcpt} failed: {e}"
        return "250 OK"


controller = Controller(Relay(), hostname="127.0.0.1", port=SMTP_PORT)
controller.start()
try:
    asyncio.get_event_loop().run_forever()
finally:
    controller.stop()
