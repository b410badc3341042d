//! How mail is told apart: auto-replies, bounces, complaints, loops and replies, from
//! published samples and hand-made mail.

use super::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/email/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn a_mail_that_breaks_the_mime_parser_reads_as_empty() {
    let i = inspect(&fixture("fuzz__broken_multipart.eml"), Some("bot@example.org"));
    assert_eq!((i.from, i.command, i.text.as_str()), (None, None, ""));
}

#[test]
fn auto_replies_are_recognized() {
    for f in [
        "sisimai__rfc3834-01.eml",
        "sisimai__rfc3834-06.eml",
        "gitlab__auto_reply.eml",
    ] {
        assert_eq!(
            inspect(&fixture(f), Some("bot@example.test")).kind,
            MailKind::AutoReply,
            "{f}"
        );
    }
}

#[test]
fn bounces_name_the_failed_recipient() {
    let i = inspect(&fixture("sisimai__rfc3464-01.eml"), None);
    assert_eq!(i.kind, MailKind::Bounce);
    assert_eq!(i.failed_recipients, ["userunknown@bouncehammer.jp"]);
    let i = inspect(&fixture("sisimai__lhost-postfix-01.eml"), None);
    assert_eq!(i.kind, MailKind::Bounce);
    assert!(
        i.failed_recipients
            .iter()
            .any(|r| r == "kijitora@example.org" || r.ends_with("@example.org") || r.ends_with(".jp")),
        "{:?}",
        i.failed_recipients
    );
    assert!(i.command.is_none());
}

/// An X3 report: multipart/report without a report-type, from `Mail.Delivery.System@`.
#[test]
fn a_report_without_a_report_type_is_a_bounce_and_never_a_command() {
    let i = inspect(&fixture("sisimai__lhost-x3-01.eml"), Some("bot@example.test"));
    assert_eq!(i.kind, MailKind::Bounce);
    assert_eq!(i.failed_recipients, ["kijitora@example.com"]);
    assert!(i.command.is_none());
    assert!(is_bounce_sender(Some("Mail.Delivery.System@example.net")));
}

#[test]
fn a_delivery_report_naming_many_recipients_is_read_only_up_to_the_limit() {
    let status: String = (0..5_000)
        .map(|i| format!("Final-Recipient: rfc822; u{i}@example.org\nStatus: 5.1.1\n\n"))
        .collect();
    let failed = hard_failed_recipients(&status);
    assert_eq!(failed.len(), bounce_text::MAX_FAILED);
    assert_eq!(failed[0], "u0@example.org");
}

#[test]
fn list_mail_is_not_a_reply_and_an_organization_named_vacation_is_not_an_auto_reply() {
    let mail = |headers: &str, subject: &str| {
        format!(
            "From: Ana <ana@example.org>\r\nTo: bot@example.test\r\n{headers}Subject: {subject}\r\n\
             Message-ID: <m1@example.org>\r\nContent-Type: text/plain\r\n\r\nstop\r\n"
        )
    };
    let list = mail("List-Id: Friends <friends.lists.example.org>\r\n", "Hello");
    assert_eq!(
        inspect(list.as_bytes(), Some("bot@example.test")).kind,
        MailKind::AutoReply
    );
    let reply = mail("", "Re: Vacation Fest \u{2014} your weekly digest");
    assert_eq!(
        inspect(reply.as_bytes(), Some("bot@example.test")).kind,
        MailKind::Reply
    );
    let away = mail("", "Vacation: Vacation Fest \u{2014} your weekly digest");
    assert_eq!(
        inspect(away.as_bytes(), Some("bot@example.test")).kind,
        MailKind::AutoReply
    );
    let ooo = mail("", "Out of office");
    assert_eq!(
        inspect(ooo.as_bytes(), Some("bot@example.test")).kind,
        MailKind::AutoReply
    );
}

#[test]
fn complaints_are_recognized() {
    let i = inspect(&fixture("sisimai__arf-01.eml"), None);
    assert_eq!(i.kind, MailKind::Complaint);
    assert!(!i.failed_recipients.is_empty());
}

#[test]
fn our_own_mail_is_a_loop_and_a_plain_reply_has_a_command() {
    let raw = b"From: Bot <bot+abc@example.test>\r\nTo: x@y.test\r\nSubject: hi\r\n\r\naccept\r\n";
    assert_eq!(inspect(raw, Some("bot@example.test")).kind, MailKind::Loop);
    let raw = b"From: Ana <Ana@Example.test>\r\nTo: bot+tok@example.test\r\nMessage-ID: <m1@x>\r\nIn-Reply-To: <a@b>\r\nSubject: Re: invite\r\n\r\nExport summer-fest\r\n\r\nOn Mon, Bot wrote:\r\n> old\r\n";
    let i = inspect(raw, Some("bot@example.test"));
    assert_eq!(i.kind, MailKind::Reply);
    assert_eq!(i.from.as_deref(), Some("ana@example.test"));
    assert_eq!(
        (i.command.as_deref(), i.args.as_slice()),
        (Some("export"), &["summer-fest".to_string()][..])
    );
    assert_eq!(i.in_reply_to, ["a@b"]);
    assert!(i.recipients.contains(&"bot+tok@example.test".to_string()));
}

#[test]
fn a_null_return_path_is_never_a_command() {
    // mail-parser 0.11.9 reads `<>` as `HeaderValue::Empty`, not as text.
    for rp in ["<>", "<> ", " < > ", "", "<>\r\nReturn-Path: <ana@example.test>"] {
        let raw = format!(
            "Return-Path: {rp}\r\nFrom: Ana <ana@example.test>\r\nTo: bot+tok@example.test\r\nSubject: Re: invite\r\n\r\naccept\r\n"
        );
        let i = inspect(raw.as_bytes(), Some("bot@example.test"));
        assert_eq!((i.kind, i.command), (MailKind::AutoReply, None), "Return-Path: {rp:?}");
    }
    let raw = "Return-Path: <ana@example.test>\r\nFrom: Ana <ana@example.test>\r\nSubject: Re: x\r\n\r\naccept\r\n";
    assert_eq!(inspect(raw.as_bytes(), None).command.as_deref(), Some("accept"));
    let raw = "From: Ana <ana@example.test>\r\nSubject: Re: x\r\n\r\naccept\r\n";
    assert_eq!(
        inspect(raw.as_bytes(), None).kind,
        MailKind::Reply,
        "no Return-Path at all"
    );
}

#[test]
fn html_only_mail_is_read_as_text() {
    let i = inspect_body("<div>accept</div><blockquote>old</blockquote>", true);
    assert_eq!(i.command.as_deref(), Some("accept"));
}
