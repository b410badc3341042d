//! The ticket shops an event's orders can come from, and how each one's link hands
//! the promoter's ref to the shop.

use super::UnknownWord;
use std::fmt;
use std::str::FromStr;

stored_words! {
    /// Which shop sells an event's tickets (the event's `checkout`).
    Shop, "checkout" {
        /// promoterd's own signed order webhook (and CSV import).
        Webhook = "webhook",
        /// Stripe Payment Links and Checkout Sessions.
        Stripe = "stripe",
        Shopify = "shopify",
        WooCommerce = "woocommerce",
        /// pretix: one voucher per promoter link.
        Pretix = "pretix",
        TicketTailor = "tickettailor",
        Eventbrite = "eventbrite",
        HiEvents = "hievents",
    }
}

/// How a tracking link hands its code to the shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefStyle {
    /// A query parameter on the ticket page, set (never doubled) by the redirect.
    Param(&'static str),
    /// pretix: `<ticket page>/redeem?voucher=<code>`, a voucher promoterd creates.
    Voucher,
}

impl Shop {
    /// The shop's name as people write it.
    pub fn label(self) -> &'static str {
        match self {
            Shop::Webhook => "promoterd webhook",
            Shop::Stripe => "Stripe",
            Shop::Shopify => "Shopify",
            Shop::WooCommerce => "WooCommerce",
            Shop::Pretix => "pretix",
            Shop::TicketTailor => "Ticket Tailor",
            Shop::Eventbrite => "Eventbrite",
            Shop::HiEvents => "Hi.Events",
        }
    }

    /// How the redirect carries the ref to this shop.
    pub fn ref_style(self) -> RefStyle {
        match self {
            Shop::Webhook | Shop::Shopify | Shop::TicketTailor | Shop::WooCommerce => RefStyle::Param("ref"),
            Shop::Stripe => RefStyle::Param("client_reference_id"),
            Shop::Eventbrite | Shop::HiEvents => RefStyle::Param("aff"),
            Shop::Pretix => RefStyle::Voucher,
        }
    }

    /// What the shop's id for an event is, for `editevent … checkout` and its errors.
    pub fn event_key(self) -> &'static str {
        match self {
            Shop::Webhook => "nothing (the webhook names the event)",
            Shop::Stripe => "the Payment Link id (plink_…)",
            Shop::Shopify => "the product id",
            Shop::WooCommerce => "the product id",
            Shop::Pretix => "<organizer>/<event> as in pretix's addresses",
            Shop::TicketTailor => "the event id (ev_…)",
            Shop::Eventbrite => "the event id",
            Shop::HiEvents => "the event id",
        }
    }

    /// Whether a shop's id for the event is well formed: short, printable, no spaces.
    pub fn valid_event_key(self, key: &str) -> bool {
        let printable = !key.is_empty() && key.len() <= 100 && key.chars().all(|c| c.is_ascii_graphic());
        printable
            && match self {
                Shop::Webhook => false,
                Shop::Stripe => key.starts_with("plink_") || key.starts_with("prod_"),
                Shop::Shopify | Shop::WooCommerce | Shop::Eventbrite | Shop::HiEvents => {
                    key.bytes().all(|b| b.is_ascii_digit())
                }
                Shop::Pretix => key
                    .split_once('/')
                    .is_some_and(|(o, e)| pretix_short_name(o) && pretix_short_name(e)),
                Shop::TicketTailor => key.starts_with("ev_"),
            }
    }
}

/// Whether a pretix short name (organizer, event) or order code is safe in an API
/// path: letters, digits, `-`, `_`, `.`, not starting with a dot (so never `..`).
pub fn pretix_short_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_shop_gets_its_parameter_and_event_keys_are_checked() {
        assert_eq!(Shop::Stripe.ref_style(), RefStyle::Param("client_reference_id"));
        assert_eq!(Shop::Eventbrite.ref_style(), RefStyle::Param("aff"));
        assert_eq!(Shop::Pretix.ref_style(), RefStyle::Voucher);
        assert!(Shop::Stripe.valid_event_key("plink_1MoC3ULkdIwHu7ixZjtGpVl2"));
        assert!(!Shop::Stripe.valid_event_key("1234"));
        assert!(Shop::Pretix.valid_event_key("democon/summer27"));
        assert!(!Shop::Pretix.valid_event_key("democon/summer27/x"));
        assert!(!Shop::Pretix.valid_event_key("democon/.."));
        assert!(!Shop::Shopify.valid_event_key("12 34"));
        assert!(Shop::Shopify.valid_event_key("632910392"));
        assert!(!Shop::Webhook.valid_event_key("x"));
        assert_eq!(Shop::from_stored("hievents"), Ok(Shop::HiEvents));
    }
}
