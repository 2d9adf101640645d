"""Free-mail and ISP domains: an address there says nothing about the company a person works for.

A lead whose email is on one of these domains never forms an account by its domain (a `group` call
still places it). The list is shipped here; a policy adds its own under `accounts.free_mail_domains`.
A sub-domain of a listed domain is free mail too (`mail.yahoo.co.jp`, `xx.ezweb.ne.jp`).
"""

from __future__ import annotations

from collections.abc import Collection

FREE_MAIL_DOMAINS = frozenset(
    {
        # global webmail
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.co.jp", "hotmail.co.uk",
        "live.com", "live.jp", "msn.com", "yahoo.com", "yahoo.co.jp", "yahoo.co.uk", "ymail.com",
        "icloud.com", "me.com", "mac.com", "aol.com", "proton.me", "protonmail.com", "pm.me",
        "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.com", "zoho.com", "yandex.com", "yandex.ru",
        "mail.ru", "qq.com", "163.com", "126.com", "naver.com", "daum.net", "fastmail.com",
        "tutanota.com", "hey.com", "inbox.com", "rediffmail.com", "laposte.net", "orange.fr",
        "free.fr", "libero.it", "t-online.de",
        # Japanese mobile carriers and ISPs
        "docomo.ne.jp", "ezweb.ne.jp", "au.com", "softbank.ne.jp", "i.softbank.jp", "ymobile.ne.jp",
        "rakuten.jp", "nifty.com", "biglobe.ne.jp", "so-net.ne.jp", "ocn.ne.jp", "plala.or.jp",
        "dion.ne.jp", "excite.co.jp", "livedoor.com", "mineo.jp", "uqmobile.jp", "willcom.com",
        "jcom.home.ne.jp", "zaq.ne.jp", "eonet.ne.jp", "infoweb.ne.jp", "odn.ne.jp", "tiki.ne.jp",
        "auone.jp", "kke.com",
        # ISPs elsewhere
        "comcast.net", "verizon.net", "att.net", "sbcglobal.net", "btinternet.com", "sky.com",
        "virginmedia.com", "bigpond.com", "shaw.ca", "rogers.com",
    }
)  # fmt: skip


def email_domain(email: str | None) -> str | None:
    """The normalised domain of an address (lower case, no trailing dot), or None if it has none."""
    if not isinstance(email, str) or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1].strip().lower().rstrip(".")
    if "." not in domain or not all(domain.split(".")) or any(c.isspace() for c in domain):
        return None
    return domain


def is_free_mail(domain: str, extra: Collection[str] = ()) -> bool:
    """Whether `domain` or a parent of it is a free-mail/ISP domain (shipped or the policy's own)."""
    parts = domain.split(".")
    for i in range(len(parts) - 1):
        parent = ".".join(parts[i:])
        if parent in FREE_MAIL_DOMAINS or parent in extra:
            return True
    return False
