//! Visible new text of a plain-text email reply: what the sender typed, without
//! quoted text, quote headers, forwarded messages or signatures.

use super::quote_headers::{header_len, is_localized_header_block, starts_with_any};

/// First field of an Outlook-style header block of a quoted or forwarded message.
#[rustfmt::skip]
const FROM_FIELDS: &[&str] =
    &["From:", "*From:*", "Von:", "*Von:*", "De:", "*De:*", "Från:", "Van:", "Da:", "Fra:"];

/// Fields that follow the first one in such a header block.
#[rustfmt::skip]
const NEXT_FIELDS: &[&str] = &[
    "Sent:", "*Sent:*", "Date:", "*Date:*", "Gesendet:", "Envoyé:", "Envoyé :", "Skickat:",
    "Verzonden:", "Enviado:", "Inviato:", "Sendt:", "To:", "*To:*", "Subject:", "*Subject:*",
    "Till:", "Ämne:", "An:", "Betreff:", "À:", "Para:", "Asunto:", "Aan:", "Onderwerp:",
    "Oggetto:", "Objet:", "Objet :",
];

/// Titles of dashed separator lines such as `-----Original Message-----`.
#[rustfmt::skip]
const SEPARATOR_TITLES: &[&str] = &[
    "original message", "forwarded message", "ursprüngliche nachricht",
    "weitergeleitete nachricht", "message d'origine", "message transféré", "mensaje original",
    "mensaje reenviado", "oorspronkelijk bericht", "doorgestuurd bericht",
    "ursprungligt meddelande", "vidarebefordrat meddelande", "messaggio originale",
    "messaggio inoltrato", "mensagem original", "mensagem encaminhada",
    // Outlook's, Thunderbird's and HubSpot's in other languages (lowercased; `İ` lowercases to `i̇`).
    "исходное сообщение", "пересылаемое сообщение", "пересланное сообщение",
    "перенаправленное сообщение", "оригінальне повідомлення", "пересланий лист",
    "původní zpráva", "přeposlaná zpráva", "oryginalna wiadomość", "przekazana wiadomość",
    "eredeti üzenet", "orijinal mesaj", "özgün ileti", "i\u{307}letilen i\u{307}leti",
    "αρχικό μήνυμα", "προωθημένο μήνυμα", "元のメッセージ", "転送されたメッセージ", "メッセージを転送",
    "原始邮件", "原始郵件", "转发的邮件", "원본 메시지", "전달된 메시지", "הודעה מקורית", "הודעה שהועברה",
    "الرسالة الأصلية", "الرسالة المعاد توجيهها",
];

/// Mobile signatures as (lowercase prefix, lowercase suffix) pairs.
#[rustfmt::skip]
const MOBILE_SIGNATURES: &[(&str, &str)] = &[
    ("sent from my ", ""), ("sent from mail for windows", ""), ("sent from outlook", ""),
    ("sent from yahoo mail", ""), ("sent from mailbox", ""), ("sent from windows mail", ""),
    ("sent with airmail", ""), ("get outlook for ", ""), ("von meinem ", "gesendet"),
    ("diese nachricht wurde von meinem ", "gesendet."), ("envoyé de mon ", ""),
    ("envoyé depuis mon ", ""), ("verzonden vanaf mijn ", ""), ("verzonden met ", ""),
    ("enviado desde mi ", ""), ("enviado do meu ", ""), ("enviado de meu ", ""),
    ("skickat från min ", ""), ("sendt fra min ", ""), ("inviato da ", ""),
    ("從我的", ""), ("从我的", ""), ("发自我的", ""), ("發自我的", ""),
];

/// Longest line that may be a mobile signature or separator title.
const MAX_SHORT: usize = 100;

/// What to do with one line of the body.
enum Step {
    Keep,
    /// Drop this many lines (quotes, quote headers) and start a new paragraph group.
    Drop(usize),
    /// Drop this line and everything after it.
    Cut,
}

/// Returns the text the sender actually wrote in an email reply body.
///
/// Quoted lines, quote headers ("On …, X wrote:"), forwarded or original messages,
/// Outlook header blocks, mailing-list footers and signatures are left out. Lines
/// are joined with `\n`, keep their indentation and lose trailing whitespace; the
/// result has no leading or trailing blank lines and is empty for a quote-only body.
pub fn visible_text(body: &str) -> String {
    let body = body.strip_prefix('\u{feff}').unwrap_or(body);
    let lines: Vec<&str> = body.split('\n').map(str::trim_end).collect();
    let mut groups: Vec<Vec<&str>> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        match classify(&lines, i) {
            Step::Keep => {
                current.push(lines[i]);
                i += 1;
            }
            Step::Drop(n) => {
                groups.push(std::mem::take(&mut current));
                i += n;
            }
            Step::Cut => break,
        }
    }
    groups.push(current);
    let groups: Vec<String> = groups
        .iter()
        .map(|g| tidy(g))
        .filter(|g| !g.is_empty())
        .map(|g| g.join("\n"))
        .collect();
    groups.join("\n")
}

/// Returns the first non-empty line of `text`, trimmed.
pub fn first_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).find(|l| !l.is_empty())
}

/// Decides what happens to line `i`; looks at most a few lines ahead.
fn classify(lines: &[&str], i: usize) -> Step {
    let line = lines[i];
    let trimmed = line.trim();
    if is_quoted(trimmed) {
        return Step::Drop(1);
    }
    if line == "--"
        || is_separator(trimmed)
        || is_mobile_signature(trimmed)
        || (i > 0 && lines[i - 1].is_empty() && is_dash_sign_off(trimmed))
        || (starts_with_any(trimmed, FROM_FIELDS)
            && lines[i + 1..lines.len().min(i + 6)]
                .iter()
                .any(|l| starts_with_any(l.trim_start(), NEXT_FIELDS)))
        || is_localized_header_block(lines, i)
    {
        return Step::Cut;
    }
    if let Some(n) = header_len(lines, i) {
        // A header followed by `>` quotes (or nothing) is dropped and the text after the
        // quote kept; a header followed by unquoted text introduces the quoted message.
        let next = lines[i + n..].iter().map(|l| l.trim()).find(|l| !l.is_empty());
        return if next.is_none_or(is_quoted) {
            Step::Drop(n)
        } else {
            Step::Cut
        };
    }
    Step::Keep
}

fn is_quoted(trimmed: &str) -> bool {
    trimmed.starts_with('>')
}

/// Underscore rules, `-----Original Message-----`-style lines and Apple forwards.
fn is_separator(t: &str) -> bool {
    if t.len() >= 5 && t.bytes().all(|b| b == b'_') {
        return true;
    }
    if t.len() > MAX_SHORT {
        return false;
    }
    if t.eq_ignore_ascii_case("Begin forwarded message:") {
        return true;
    }
    t.starts_with("--") && {
        let title = t.trim_matches(|c: char| c == '-' || c.is_whitespace()).to_lowercase();
        SEPARATOR_TITLES.contains(&title.as_str())
    }
}

/// "Sent from my iPhone" and friends: short lines without a comma.
fn is_mobile_signature(t: &str) -> bool {
    if t.len() > MAX_SHORT || t.contains(',') {
        return false;
    }
    let lower = t.to_lowercase();
    MOBILE_SIGNATURES
        .iter()
        .any(|(pre, suf)| lower.starts_with(pre) && lower.ends_with(suf))
}

/// A short "-Name" sign-off such as `-Abhishek Kona`.
fn is_dash_sign_off(t: &str) -> bool {
    t.len() <= 40
        && t.strip_prefix('-').is_some_and(|name| {
            name.starts_with(char::is_alphabetic)
                && name.split_whitespace().count() <= 4
                && name.chars().all(|c| c.is_alphabetic() || c == ' ' || c == '.')
        })
}

/// Trims leading blank lines and trailing blank or rule (`-----`) lines of a group.
fn tidy<'a>(group: &'a [&'a str]) -> &'a [&'a str] {
    let is_rule = |l: &&str| {
        let t = l.trim();
        t.is_empty() || (t.len() >= 3 && t.chars().all(|c| matches!(c, '-' | '_' | '=' | '*')))
    };
    let start = group.iter().position(|l| !l.trim().is_empty()).unwrap_or(group.len());
    let end = group
        .iter()
        .rposition(|l| !is_rule(l))
        .map_or(start, |e| e + 1)
        .max(start);
    &group[start..end]
}

/// A test that one fixture file under `tests/fixtures/email/` reads as `$expected`.
#[cfg(test)]
macro_rules! visible_fixture {
    ($name:ident, $file:literal, $expected:expr) => {
        #[test]
        fn $name() {
            let body = include_str!(concat!("../../tests/fixtures/email/", $file));
            assert_eq!($crate::email::visible::visible_text(body), $expected);
        }
    };
}
#[cfg(test)]
pub(super) use visible_fixture;

#[cfg(test)]
mod tests {
    use super::*;
    use visible_fixture as fixture;

    fixture!(
        gh_1_3,
        "ghparser__email_1_3.txt",
        "Oh thanks.\n\nHaving the function would be great."
    );
    fixture!(
        gh_1_6,
        "ghparser__email_1_6.txt",
        "I get proper rendering as well.\n\nSent from a magnificent torch of pixels"
    );
    fixture!(gh_1_7_crlf, "ghparser__email_1_7.txt", ":+1:");
    fixture!(
        gh_1_8_inline,
        "ghparser__email_1_8.txt",
        "I will reply under this one\nand under this."
    );
    fixture!(gh_2_1_outlook, "ghparser__email_2_1.txt", "Outlook with a reply");
    fixture!(
        gh_2_3_outlook,
        "ghparser__email_2_3.txt",
        "Outlook with a reply directly above line"
    );
    fixture!(gh_iphone, "ghparser__email_iPhone.txt", "Here is another email");
    fixture!(
        gh_sent_from_my_not_signature,
        "ghparser__email_sent_from_my_not_signature.txt",
        "Here is another email\n\nSent from my desk, is much easier then my mobile phone."
    );
    fixture!(
        gh_bullets,
        "ghparser__email_bullets.txt",
        "test 2 this should list second\n\nand have spaces\n\nand retain this formatting\n\n\n   - how about bullets\n   - and another"
    );
    fixture!(
        gh_greedy_on,
        "ghparser__greedy_on.txt",
        "On your remote host you can run:\n\n     telnet 127.0.0.1 52698\n\nThis should connect to TextMate (on your Mac, via the tunnel). If that\nfails, the tunnel is not working."
    );
    fixture!(
        gh_sig_delimiter_in_middle_of_line,
        "ghparser__email_sig_delimiter_in_middle_of_line.txt",
        "Hi there!\n\nStuff happened.\n\nAnd here is a fix -- this is not a signature.\n\nkthxbai"
    );
    fixture!(
        gh_pathological,
        "ghparser__pathological.txt",
        "I think you're onto something. I will try to fix the problem as soon as I\nget back to a computer."
    );
    fixture!(
        zapier_gmail,
        "zapier__email_gmail.txt",
        "This is a test for inbox replying to a github message."
    );
    fixture!(
        zapier_headers_no_delimiter,
        "zapier__email_headers_no_delimiter.txt",
        "And another reply!"
    );
    fixture!(
        trimmer_german,
        "trimmer__embedded_email_german_1.txt",
        "alright, no big deal - I assume in this case the code needs some refactoring to better support I18N anyway."
    );
    fixture!(trimmer_french, "trimmer__embedded_email_french_1.txt", "C'est super !");
    fixture!(
        trimmer_dutch,
        "trimmer__embedded_email_dutch_1.txt",
        "Nice of you to pick it up! Could you make a PR? Then other people can use it too. Would be great."
    );
    fixture!(
        trimmer_spanish,
        "trimmer__embedded_email_spanish_1.txt",
        "I've configured Twitter Authentication, so this error happends on the\napplication, after twitter posts to my discourse install via the callback.\n\nIn the front error I can get a correct message saying \"Something waa wrong,\ncheck you usename and password\" and in the backend I see that error in the\nlogs."
    );
    fixture!(
        trimmer_swedish,
        "trimmer__embedded_email_swedish.txt",
        "Hi everyone!\n\nHere you can find the pictures that I took https://foo.bar\n\nIt was a pleasure to support this event.\n\nBest regards\n\nSome One"
    );
    fixture!(
        trimmer_forwarded_gmail,
        "trimmer__forwarded_gmail.txt",
        "This email has been forwarded from Gmail."
    );
    fixture!(
        trimmer_signatures,
        "trimmer__signatures.txt",
        "This email was sent from way too much different devices ;)"
    );
    fixture!(
        trimmer_usenet,
        "trimmer__usenet.txt",
        "Mal sehen was hier mit der Signatur passiert!"
    );
    fixture!(trimmer_quote_only, "trimmer__quote_only.txt", "");

    #[test]
    fn gh_1_2_bottom_post() {
        // Zapier-style: "Hi," plus the answer below the quote; quote and footer dropped.
        let body = include_str!("../../tests/fixtures/email/ghparser__email_1_2.txt");
        let answer: Vec<&str> = body.lines().skip(8).take(26).map(str::trim_end).collect();
        let text = visible_text(body);
        assert_eq!(text, format!("Hi,\n{}", answer.join("\n")));
        assert!(text.starts_with("Hi,\nYou can list the keys for the bucket"));
        assert!(text.ends_with("you’ll need to delete them all individually.\""));
    }

    #[test]
    fn gh_long_quote() {
        let body = include_str!("../../tests/fixtures/email/ghparser__email_long_quote.txt");
        let text = visible_text(body);
        assert!(text.starts_with("Hi folks\n\nWhat is the best way to clear a Riak bucket"));
        assert!(text.ends_with("I am currently using the Java HTTP API."));
        assert_eq!(first_line(&text), Some("Hi folks"));
    }

    #[test]
    fn crlf_input() {
        let text = visible_text("accept\r\n\r\nthanks \r\n\r\nOn Mon, 1 Jan 2024, Bot <b@x.io> wrote:\r\n> hi\r\n");
        assert_eq!(text, "accept\n\nthanks");
    }

    #[test]
    fn bullets_keep_indentation() {
        let text = visible_text("\n\nList:\n  - one\n    - two\n\n> quoted\n");
        assert_eq!(text, "List:\n  - one\n    - two");
    }

    #[test]
    fn quote_only_is_empty() {
        assert_eq!(visible_text("> a\n>\n>> b\n\n"), "");
        assert_eq!(visible_text("On 2 May 2024, Bot <b@x.io> wrote:\n\n> a\n"), "");
        assert_eq!(first_line(&visible_text("> only")), None);
    }

    #[test]
    fn header_wrapped_and_top_posted_markers() {
        let body = "export summer-fest\n\nOn Tue, 2 Jan 2024 at 10:00, Promoter Bot\n<bot@example.com> wrote:\n\n> Reply with a command.";
        assert_eq!(visible_text(body), "export summer-fest");
        assert_eq!(
            visible_text("accept\n-----Original Message-----\nFrom: x\nhi"),
            "accept"
        );
        assert_eq!(visible_text("accept\n\n----- original message -----\nhi"), "accept");
        assert_eq!(visible_text("ok\n\nBegin forwarded message:\n\nFrom: a"), "ok");
        assert_eq!(visible_text("yes\n\nVon: A\nGesendet: Montag\nAn: B"), "yes");
        assert_eq!(
            visible_text("Here is what I wrote:\n  stop"),
            "Here is what I wrote:\n  stop"
        );
    }

    #[test]
    fn first_line_trims_and_skips_blanks() {
        assert_eq!(first_line("\n  \n   accept  \nmore"), Some("accept"));
        assert_eq!(first_line("\r\n export summer-fest\r\n"), Some("export summer-fest"));
        assert_eq!(first_line(" \n\t\n"), None);
    }
}
