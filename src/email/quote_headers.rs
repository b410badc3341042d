//! Quote headers of email replies ("On <date>, X wrote:" and its equivalents in other
//! languages, Gmail's date-first `2012/4/2 X <x@y>:` forms) and localized Outlook-style
//! `From:/Sent:` header blocks, recognized line by line.
//!
//! Linear time by construction (the body is hostile input): every check looks at the
//! current line and at most a fixed number of following lines, compares fixed suffixes
//! and prefixes from the tables below, and scans a line at most a constant number of
//! times. Lines are only joined when each is at most `MAX_WRAPPED` bytes. No regex, and
//! no search restarted inside a loop over the same text.

/// Endings of "On <date>, <name> wrote:" quote headers, in common languages. A marker
/// that begins with a letter of a script written with spaces must follow a non-letter.
#[rustfmt::skip]
const HEADER_MARKERS: &[&str] = &[
    "wrote:", "schrieb:", "a écrit :", "a écrit:", "escribió:", "het volgende geschreven:",
    "schreef:", "skrev:", "scrisse:", "escreveu:", "napisał(a):", "napisał:", "kirjoitti:",
    "写道：", "寫道：", "写道:",
    // Russian, Ukrainian (Gmail, Outlook, Thunderbird, Mail.ru, Yandex).
    "написал:", "написала:", "написал(а):", "писал(а):", "пишет:", "написав:", "написав(ла):",
    "пише:",
    // Polish (Thunderbird), Czech, Slovak, Hungarian, Romanian, Italian, Turkish.
    "pisze:", "napisała:", "napsal(a):", "napsal:", "napsala:", "napísal(a):", "napísal:",
    "napísala:", "írta:", "a scris:", "ha scritto:", "şunu yazdı:", "yazdı:",
    // Greek, Arabic, Hebrew.
    "έγραψε:", "كتب:", "كتبت:", "כתב:", "כתבה:", "כתב/ה:",
    // Japanese, Korean, Chinese (no spaces: matched right after the name).
    "のメッセージ:", "のメッセージ：", "書きました:", "書きました：", "님이 작성:", "님이 작성：",
    "님이 작성하였습니다:", "寫道:",
];

/// Words a wrapped quote header usually begins with.
#[rustfmt::skip]
const HEADER_OPENERS: &[&str] = &[
    "On ", "Le ", "Am ", "El ", "Op ", "Il ", "Em ", "Den ", "På ", "W dniu ", "Dnia ", "在",
    "Dne ", "In data ", "Στις ", "בתאריך ", "في ",
];

/// First field of a localized Outlook header block (English, German, French, Spanish,
/// Dutch, Swedish, Danish and Italian ones are handled by the caller's older rule).
#[rustfmt::skip]
const LOCAL_FROM_FIELDS: &[&str] = &[
    "От", "Від", "Od", "Kimden", "Gönderen", "Feladó", "Από", "Lähettäjä", "差出人", "送信元",
    "送信者", "寄件者", "发件人", "發件人", "보낸 사람", "מאת", "من",
];

/// Fields that follow it (localized, plus the English ones Gmail keeps in forwards).
#[rustfmt::skip]
const LOCAL_NEXT_FIELDS: &[&str] = &[
    "Sent", "Date", "To", "Subject", "Cc",
    "Отправлено", "Дата", "Кому", "Тема", "Копия", "Надіслано", "Копія",
    "Odesláno", "Datum", "Komu", "Předmět", "Kopie", "Wysłano", "Data", "Do", "Temat", "DW",
    "Gönderildi", "Tarih", "Kime", "Konu", "Bilgi", "Elküldve", "Címzett", "Tárgy", "Dátum",
    "Στάλθηκε", "Ημερομηνία", "Προς", "Θέμα", "Lähetetty", "Vastaanottaja", "Aihe",
    "送信日時", "日付", "宛先", "送信先", "件名", "发送时间", "日期", "收件人", "主题", "寄件日期",
    "收件者", "主旨", "보낸 날짜", "받는 사람", "제목", "נשלח", "תאריך", "אל", "נושא",
    "تاريخ الإرسال", "التاريخ", "إلى", "الموضوع",
];

/// Longest line that may be part of a quote header wrapped over several lines.
const MAX_WRAPPED: usize = 300;

/// How many lines after a localized `From:` line may hold its other fields.
const BLOCK_SPAN: usize = 5;

/// Number of lines of the quote header starting at line `i`, if there is one.
pub(super) fn header_len(lines: &[&str], i: usize) -> Option<usize> {
    let first = lines[i].trim();
    if first.is_empty() {
        return None;
    }
    if ends_with_marker(first) {
        return has_date_or_address(first).then_some(1);
    }
    if first.len() > MAX_WRAPPED {
        return None;
    }
    if is_dated_address_header(first, false) || (is_dated_address_header(first, true) && next_is_quoted(lines, i + 1)) {
        return Some(1);
    }
    let mut joined = first.to_string();
    for k in 1..3 {
        let next = lines.get(i + k)?.trim();
        if next.is_empty() || next.len() > MAX_WRAPPED || next.starts_with('>') {
            return None;
        }
        joined.push(' ');
        joined.push_str(next);
        let continued = || (1..=k).all(|j| is_continuation(lines[i + j - 1].trim(), lines[i + j].trim()));
        if ends_with_marker(&joined) {
            // Only a wrap if the later lines are address/marker continuations or the first
            // line opens like a header; otherwise the later line is the header on its own.
            let wrapped = continued() || starts_with_any(first, HEADER_OPENERS);
            return (wrapped && has_date_or_address(&joined)).then_some(k + 1);
        }
        if is_dated_address_header(&joined, false) {
            return continued().then_some(k + 1);
        }
    }
    None
}

/// A localized Outlook header block: a `From:` line in one of `LOCAL_FROM_FIELDS` and at
/// least two of the next `BLOCK_SPAN` lines starting with one of `LOCAL_NEXT_FIELDS`.
pub(super) fn is_localized_header_block(lines: &[&str], i: usize) -> bool {
    starts_with_field(lines[i].trim(), LOCAL_FROM_FIELDS)
        && lines[i + 1..lines.len().min(i + 1 + BLOCK_SPAN)]
            .iter()
            .filter(|l| starts_with_field(l.trim(), LOCAL_NEXT_FIELDS))
            .count()
            >= 2
}

pub(super) fn starts_with_any(t: &str, prefixes: &[&str]) -> bool {
    prefixes
        .iter()
        .any(|p| t.len() >= p.len() && t.is_char_boundary(p.len()) && t[..p.len()].eq_ignore_ascii_case(p))
}

/// `t` starts with one of `fields` followed by a (half- or full-width) colon.
fn starts_with_field(t: &str, fields: &[&str]) -> bool {
    fields.iter().any(|f| {
        t.len() > f.len()
            && t.is_char_boundary(f.len())
            && t[..f.len()].eq_ignore_ascii_case(f)
            && t[f.len()..].trim_start_matches(' ').starts_with([':', '：'])
    })
}

fn ends_with_marker(s: &str) -> bool {
    HEADER_MARKERS.iter().any(|m| {
        let Some(start) = s.len().checked_sub(m.len()) else {
            return false;
        };
        s.is_char_boundary(start)
            && s[start..].eq_ignore_ascii_case(m)
            && (!needs_word_boundary(m) || !s[..start].ends_with(char::is_alphanumeric))
    })
}

/// Markers of scripts written with spaces between words must start a word.
fn needs_word_boundary(marker: &str) -> bool {
    marker.chars().next().is_some_and(|c| c.is_alphabetic() && !is_cjk(c))
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{1100}'..='\u{11FF}' | '\u{3040}'..='\u{30FF}' | '\u{3400}'..='\u{9FFF}' | '\u{AC00}'..='\u{D7AF}')
}

/// Gmail's verb-less, date-first header: `2012/4/2 X <x@y>:`, `2012年4月2日(月) 14:20
/// X <x@y>:`, `ср, 30 апр. 2025 г. в 15:19, X <x@y>:`, `בתאריך …, X <x@y>:`. It must
/// open with a date (a digit, a short weekday with a comma, or `בתאריך`), hold a year or a
/// time, and end with `<address>` and a colon (`colon_optional` allows old Gmail's form
/// without it).
fn is_dated_address_header(s: &str, colon_optional: bool) -> bool {
    let body = match s.strip_suffix([':', '：']) {
        Some(b) => b,
        None if colon_optional => s,
        None => return false,
    };
    let Some((before, address)) = body.trim_end().strip_suffix('>').and_then(|b| b.rsplit_once('<')) else {
        return false;
    };
    is_address(address.trim()) && opens_with_date(before) && has_year_or_time(before)
}

fn is_address(a: &str) -> bool {
    a.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !domain.contains('@') && !a.contains(char::is_whitespace)
    })
}

fn opens_with_date(s: &str) -> bool {
    let first = s.split_whitespace().next().unwrap_or("");
    first.starts_with(char::is_numeric)
        || (first.chars().count() <= 5 && first.ends_with([',', '،']))
        || first == "בתאריך"
}

/// A run of four digits (a year) or a digit, `:` and a digit (a time). One pass.
fn has_year_or_time(s: &str) -> bool {
    let (mut run, mut prev, mut before_prev) = (0, ' ', ' ');
    for c in s.chars() {
        run = if c.is_numeric() { run + 1 } else { 0 };
        if run >= 4 || (c.is_numeric() && prev == ':' && before_prev.is_numeric()) {
            return true;
        }
        (before_prev, prev) = (prev, c);
    }
    false
}

/// The next non-blank line among the following three is a `>` quote.
fn next_is_quoted(lines: &[&str], from: usize) -> bool {
    lines
        .iter()
        .skip(from)
        .take(3)
        .map(|l| l.trim())
        .find(|l| !l.is_empty())
        .is_some_and(|l| l.starts_with('>'))
}

/// `t` continues a wrapped header after `prev`: it opens with `<`, `"`, `(` or a marker,
/// or `prev` ends with `<` or `(` and `t` opens with the address.
fn is_continuation(prev: &str, t: &str) -> bool {
    t.starts_with(['<', '"', '('])
        || starts_with_any(t, HEADER_MARKERS)
        || (prev.ends_with(['<', '(']) && t.split_whitespace().next().is_some_and(|w| w.contains('@')))
}

/// Any digit (also Arabic-Indic ones) or an `@`.
fn has_date_or_address(s: &str) -> bool {
    s.chars().any(|c| c.is_numeric() || c == '@')
}

#[cfg(test)]
mod tests {
    use crate::email::visible::visible_text;

    use crate::email::visible::visible_fixture as fixture;

    // Quote headers in more languages (issue #14).
    fixture!(
        trimmer_russian_long_form,
        "trimmer__embedded_email_russian_1.txt",
        "Why don't you override particular strings with JS?"
    );
    fixture!(trimmer_russian_wrapped, "trimmer__embedded_email_russian_2.txt", "Yes.");
    fixture!(
        trimmer_ukrainian,
        "trimmer__embedded_email_ukrainian.txt",
        "Спасибо еще раз."
    );
    fixture!(
        trimmer_polish,
        "trimmer__embedded_email_polish_2.txt",
        "Hi Neil,\nThanks for prompt response!"
    );
    fixture!(
        trimmer_portuguese,
        "trimmer__embedded_email_portuguese.txt",
        "Olá,\nQualquer dúvida estamos ai."
    );
    fixture!(crisp_russian_gmail, "crisp__email_russian.txt", CRISP_FIRST_FRAGMENT);
    fixture!(crisp_italian, "crisp__email_italian.txt", CRISP_FIRST_FRAGMENT);
    fixture!(
        crisp_no_false_on,
        "crisp__email_tricky_1_on_false_positive.txt",
        include_str!("../../tests/fixtures/email/crisp__email_tricky_1_on_false_positive.txt").trim()
    );
    fixture!(
        crisp_no_false_timestamps,
        "crisp__email_tricky_13_timestamp_variations.txt",
        include_str!("../../tests/fixtures/email/crisp__email_tricky_13_timestamp_variations.txt").trim()
    );
    fixture!(
        japanese_gmail,
        "mailparserreply__email_ja_1_2.txt",
        "田中様\n\nお世話になっております。織田です。\n\nそれでは 11:00 にお待ちしております。\n\n\n以上、よろしくお願いいたします"
    );
    fixture!(
        korean_gmail,
        "promoterd__reply_korean_gmail.txt",
        "네, 좋습니다. 목요일에 뵙겠습니다."
    );
    fixture!(arabic_gmail, "promoterd__reply_arabic_gmail.txt", "موافق، شكراً لكم.");
    fixture!(hebrew_gmail, "promoterd__reply_hebrew_gmail.txt", "מאשר, תודה.");
    fixture!(
        greek_gmail_wrapped,
        "promoterd__reply_greek_gmail.txt",
        "Εντάξει, ευχαριστώ."
    );
    fixture!(chinese_gmail, "promoterd__reply_chinese_gmail.txt", "好的，谢谢。");

    /// The first paragraph of crisp-oss/email-reply-parser's fixtures (its tests expect it).
    const CRISP_FIRST_FRAGMENT: &str = "Fusce bibendum, quam hendrerit sagittis tempor, dui turpis tempus erat, pharetra sodales ante sem sit amet metus.\nNulla malesuada, orci non vulputate lobortis, massa felis pharetra ex, convallis consectetur ex libero eget ante.\nNam vel turpis posuere, rhoncus ligula in, venenatis orci. Duis interdum venenatis ex a rutrum.\nDuis ut libero eu lectus consequat consequat ut vel lorem. Vestibulum convallis lectus urna,\net mollis ligula rutrum quis. Fusce sed odio id arcu varius aliquet nec nec nibh.";

    /// Fixtures of crisp-oss/email-forward-parser hold only the quoted part: a quote header
    /// or localized Outlook block, then the unquoted original. Alone they leave nothing;
    /// below a reply they leave the reply.
    macro_rules! quoted_part {
        ($name:ident, $file:literal) => {
            #[test]
            fn $name() {
                let part = include_str!(concat!("../../tests/fixtures/email/", $file));
                assert_eq!(visible_text(part), "");
                assert_eq!(visible_text(&format!("accept\r\n\r\n{part}")), "accept");
            }
        };
    }

    quoted_part!(outlook_russian_header, "forwardparser__outlook_2019_ru_body.txt");
    quoted_part!(outlook_turkish_header, "forwardparser__outlook_2019_tr_body.txt");
    quoted_part!(outlook_czech_header, "forwardparser__outlook_2019_cz_body.txt");
    quoted_part!(outlook_slovak_header, "forwardparser__outlook_2019_sk_body.txt");
    quoted_part!(outlook_hungarian_header, "forwardparser__outlook_2019_hu_body.txt");
    quoted_part!(outlook_italian_header, "forwardparser__outlook_2019_it_body.txt");
    quoted_part!(outlook_russian_block, "forwardparser__new_outlook_2019_ru_body.txt");
    quoted_part!(outlook_czech_block, "forwardparser__new_outlook_2019_cs_body.txt");
    quoted_part!(outlook_polish_block, "forwardparser__new_outlook_2019_pl_body.txt");
    quoted_part!(outlook_turkish_block, "forwardparser__new_outlook_2019_tr_body.txt");
    quoted_part!(hubspot_japanese_block, "forwardparser__hubspot_ja_body.txt");
    quoted_part!(thunderbird_russian_forward, "forwardparser__thunderbird_ru_body.txt");
    quoted_part!(thunderbird_turkish_forward, "forwardparser__thunderbird_tr_body.txt");

    #[test]
    fn date_first_and_localized_headers() {
        let quote = "\n> Reply with a command.\n> It runs on the event.";
        for header in [
            "02.04.2012 14:20 пользователь Promoter Bot написал:",
            "понедельник, 2 апреля 2012 г. пользователь Promoter Bot написал:",
            "пн, 2 апр. 2012 г. в 14:20, Promoter Bot <bot@example.com>:",
            "2 квіт. 2012 р. о 14:20 Promoter Bot <bot@example.com> написав:",
            "2012/4/2 Promoter Bot <bot@example.com>:",
            "2012年4月2日 14:20 Promoter Bot <bot@example.com>:",
            "2012年4月2日(月) 14:20 Promoter Bot <bot@example.com>:",
            "2012년 4월 2일 (월) 오후 2:20, Promoter Bot <bot@example.com>님이 작성:",
            "Promoter Bot <bot@example.com> 于2012年4月2日周一 下午2:20写道：",
            "في الاثنين، 2 أبريل 2012 في 2:20 م، Promoter Bot <bot@example.com> كتب:",
            "ב-02/04/2012 14:20, Promoter Bot כתב:",
            "Στις 2012-04-02 14:20, Promoter Bot έγραψε:",
            "Promoter Bot <bot@example.com>, 2 Nis 2012 Pzt, 14:20 tarihinde şunu yazdı:",
            "Dne 2. 4. 2012 14:20 Promoter Bot <bot@example.com> napsal(a):",
            "po 2. 4. 2012 v 14:20 odesílatel Promoter Bot <bot@example.com> napsal:",
            "W dniu 2.04.2012 14:20, Promoter Bot pisze:",
            "Em seg., 2 de abr. de 2012 às 14:20, Promoter Bot <bot@example.com> escreveu:",
            "Il giorno lun 2 apr 2012 alle ore 14:20 Promoter Bot <bot@example.com> ha scritto:",
            "02.04.2012 14:20 пользователь \"Promoter Bot\" <\nbot@example.com> написал:",
            "ср, 2 апр. 2012 г. в 14:20, Promoter Bot <\nbot@example.com>:",
        ] {
            assert_eq!(
                visible_text(&format!("accept\n\n{header}{quote}")),
                "accept",
                "{header}"
            );
            assert_eq!(
                visible_text(&format!("accept\n\n{header}\n\nold text")),
                "accept",
                "{header}"
            );
        }
        // Old Gmail's form without a colon counts only above a `>` quote.
        let header = "2012/4/2 Promoter Bot <bot@example.com>";
        assert_eq!(visible_text(&format!("accept\n\n{header}{quote}")), "accept");
    }

    #[test]
    fn ordinary_lines_are_not_quote_headers() {
        for body in [
            "El martes nos vemos.\nGracias",
            "El 5 de mayo hablamos.\n\nSaludos",
            "Il giorno dopo ha scritto a tutti.\nCiao",
            "Мы встретимся 02.04.2012 в 14:20.\nИван написал план.",
            "Иван написал:\nплан",
            "2012/4/2 Promoter Bot <bot@example.com>\nmore text",
            "Meeting 2024-05-01 with Bob <bob@example.com>:\n- agenda",
            "Od: poniedziałku do piątku\nDo: niedzieli",
            "ср, без даты, Promoter Bot <bot@example.com>:\nтекст",
        ] {
            assert_eq!(visible_text(body), body, "{body}");
        }
    }

    #[test]
    fn near_miss_headers_in_a_huge_body() {
        // 2 MiB of lines that almost look like quote headers: all of them are kept. The
        // scan is linear by construction (see quote_headers.rs); no wall time is asserted.
        let lines = [
            "Иван написал:",
            "2012/4/2 X",
            "02.04.2012 14:20 X <x@y.z>",
            "пользователь написал",
            "From: x",
            "От: x",
        ];
        let mut body = String::new();
        while body.len() < 2 << 20 {
            for l in lines {
                body.push_str(l);
                body.push('\n');
            }
        }
        assert_eq!(visible_text(&body), body.trim_end());
        let long = format!("{}написал:\n> q", "2012 x ".repeat(300_000));
        assert_eq!(visible_text(&long), "");
    }
}
