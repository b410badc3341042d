"""A minimal SMTP server for the tests: accepts mail on a loopback port and delivers
each recipient into Dovecot over LMTP, one LMTP transaction per recipient.
Usage: smtp-relay.py SMTP_PORT LMTP_PORT"""
import asyncio
import smtplib
import sys

from aiosmtpd.controller import Controller

SMTP_PORT, LMTP_PORT = int(sys.argv[1]), int(sys.argv[2])


class Relay:
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
