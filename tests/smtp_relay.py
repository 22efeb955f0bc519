"""A real SMTP server for baosong's tests (aiosmtpd), relaying into Dovecot over LMTP.

Usage: smtp_relay.py PORT CERT KEY LMTP_PORT MAILBOX_USER SMTP_USER SMTP_PASSWORD

Implicit TLS on PORT, AUTH PLAIN/LOGIN required. Every accepted message is delivered
over LMTP to MAILBOX_USER's mailbox with its headers untouched, so tests read what
arrived over IMAP. Recipients whose local part starts with "reject" get a permanent
550; "tempfail" gets a transient 451. Prints "ready" when listening.
"""
import asyncio
import smtplib
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, cert, key, lmtp_port, mailbox_user, user, password = sys.argv[1:8]


class Relay:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if local.startswith("tempfail"):
            return "451 4.3.0 <%s>: Temporary lookup failure" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        try:
            with smtplib.LMTP("127.0.0.1", int(lmtp_port)) as lmtp:
                lmtp.sendmail(envelope.mail_from, [mailbox_user], data)
        except Exception as e:  # delivery failed: tell the client to retry
            return "451 4.3.0 LMTP delivery failed: %s" % e
        return "250 2.0.0 Ok: queued"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
    return AuthResult(success=ok, handled=False)


ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)
controller = Controller(
    Relay(),
    hostname="127.0.0.1",
    port=int(port),
    ssl_context=ctx,
    authenticator=authenticator,
    auth_required=True,
    auth_require_tls=False,
    server_hostname="localhost",
)
controller.start()
print("ready", flush=True)
try:
    asyncio.get_event_loop().run_until_complete(asyncio.Event().wait())
except KeyboardInterrupt:
    pass
finally:
    controller.stop()
