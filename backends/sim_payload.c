/* Realistic order-flow events for the simulator: the nested, PII-laden,
 * unicode-rich JSON a real engine dead-letters, so that opsdeck's
 * redaction, sanitizing and wide-character layout meet what production
 * holds. Everything comes from the engine's random source: the same seed
 * gives the same events. */
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "backends/sim_internal.h"

/* About one event in this many is very large (an order with thousands of
 * lines), to exercise size limits in the stores and the console. */
#define PAYLOAD_LARGE_ONE_IN 300
#define PAYLOAD_LARGE_MIN    (100 * 1024)
#define PAYLOAD_LARGE_MAX    (300 * 1024)

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Names in several scripts, with combining-free accents, right-to-left
 * text, CJK (double width) and emoji; the mailbox is the ASCII part a
 * real shop would have. */
static const struct payload_person {
    const char *name;
    const char *mailbox;
} payload_people[] = {
    {"Zoë Ångström", "zoe.angstrom"},
    {"李雷", "li.lei"},
    {"韩梅梅", "han.meimei"},
    {"محمد الأحمد", "m.alahmad"},
    {"Renée Müller", "renee.mueller"},
    {"Ólafur Þórsson", "olafur"},
    {"Siobhán Ó Briain", "siobhan.obriain"},
    {"Дмитрий Иванов", "d.ivanov"},
    {"田中 花子", "hanako.tanaka"},
    {"Nguyễn Văn An", "an.nguyen"},
    {"José Álvarez", "jose.alvarez"},
    {"Chloé 🦄 Martin", "chloe.martin"},
    {"Ayşe Yılmaz", "ayse.yilmaz"},
    {"Grzegorz Brzęczyszczykiewicz", "g.brzeczyszczykiewicz"},
    {"John Smith", "john.smith"},
    {"Priya Raghunathan 🎉", "priya.r"},
    {"שרה כהן", "sarah.cohen"},
    {"Κώστας Παπαδόπουλος", "kostas.p"},
};

static const char *const payload_domains[] = {
    "example.com",
    "example.org",
    "mail.example.net",
    "example.de",
};

static const struct payload_place {
    const char *street;
    const char *city;
    const char *postal_code;
    const char *country;      /* ISO 3166-1 alpha-2 */
    const char *phone_prefix; /* country calling code */
    const char *currency;
} payload_places[] = {
    {"Hauptstraße", "München", "80331", "DE", "+49", "EUR"},
    {"Kungsgatan", "Göteborg", "411 19", "SE", "+46", "SEK"},
    {"Rue de Rivoli", "Paris", "75001", "FR", "+33", "EUR"},
    {"Calle de Alcalá", "Madrid", "28014", "ES", "+34", "EUR"},
    {"Laugavegur", "Reykjavík", "101", "IS", "+354", "ISK"},
    {"Baker Street", "London", "NW1 6XE", "GB", "+44", "GBP"},
    {"Nanjing Road", "上海", "200001", "CN", "+86", "CNY"},
    {"Sheikh Zayed Road", "دبي", "00000", "AE", "+971", "AED"},
    {"Shibuya", "東京", "150-0002", "JP", "+81", "JPY"},
    {"Tverskaya", "Москва", "125009", "RU", "+7", "RUB"},
};

static const struct payload_product {
    const char *sku;
    const char *name;
    uint64_t cents_lo, cents_hi;
} payload_products[] = {
    {"SKU-KB-104", "Mechanical keyboard (ISO-DE)", 7900, 18900},
    {"SKU-MS-220", "Wireless mouse", 1999, 5999},
    {"SKU-MN-270", "27\" monitor", 19900, 54900},
    {"SKU-CB-010", "USB-C cable 2 m", 899, 1999},
    {"SKU-TE-001", "Grüner Tee, 100 g", 599, 1499},
    {"SKU-BK-777", "Книга: «Война и мир»", 1299, 3499},
    {"SKU-MG-042", "Tasse „Café Crème“ ☕", 1290, 1890},
    {"SKU-HD-512", "SSD 512 GB", 4900, 8900},
    {"SKU-JP-108", "抹茶セット", 2500, 6800},
    {"SKU-GF-050", "Gift card 🎁", 2500, 10000},
};

static const char *const payload_carriers[] = {"DHL", "UPS", "PostNord", "La Poste", "Yamato"};
static const char *const payload_channels[] = {"email", "sms", "push"};

/* A UUID version 4 from the random source. */
static void payload_uuid(struct sim *s, char out[37])
{
    uint64_t hi = sim_rand(s), lo = sim_rand(s);
    snprintf(out, 37, "%08" PRIx64 "-%04" PRIx64 "-4%03" PRIx64 "-%04" PRIx64 "-%012" PRIx64,
             hi >> 32, (hi >> 16) & 0xffff, hi & 0xfff, ((lo >> 48) & 0x3fff) | 0x8000,
             lo & UINT64_C(0xffffffffffff));
}

/* n random decimal digits. */
static void payload_digits(struct sim *s, char *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (char)('0' + sim_between(s, 0, 9));
    out[n] = '\0';
}

/* A 16-digit Visa-style test number with a valid Luhn check digit, so
 * that a validator in an integrator's pipeline accepts it as a card. */
static void payload_card(struct sim *s, char out[20])
{
    char d[17];
    d[0] = '4';
    payload_digits(s, d + 1, 14);
    int sum = 0;
    for (int i = 14; i >= 0; i--) {
        int v = d[i] - '0';
        if ((14 - i) % 2 == 0) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
    }
    d[15] = (char)('0' + (10 - sum % 10) % 10);
    d[16] = '\0';
    snprintf(out, 20, "%.4s%.4s%.4s%.4s", d, d + 4, d + 8, d + 12);
}

/* A German IBAN with correct ISO 13616 check digits (mod 97). */
static void payload_iban(struct sim *s, char out[23])
{
    char bban[19];
    payload_digits(s, bban, 18);
    /* BBAN, then "DE00" as digits (D=13, E=14), mod 97 in pieces. */
    char num[32];
    snprintf(num, sizeof(num), "%s131400", bban);
    unsigned rem = 0;
    for (const char *p = num; *p; p++)
        rem = (rem * 10 + (unsigned)(*p - '0')) % 97;
    snprintf(out, 23, "DE%02u%s", 98 - rem, bban);
}

static void payload_money(uint64_t cents, char out[24])
{
    snprintf(out, 24, "%" PRIu64 ".%02" PRIu64, cents / 100, cents % 100);
}

/* One order line; adds its value to *total. */
static json_t *payload_item(struct sim *s, uint64_t *total, bool verbose)
{
    const struct payload_product *p = &payload_products[sim_rand(s) % COUNT(payload_products)];
    uint64_t qty = sim_between(s, 1, 4), price = sim_between(s, p->cents_lo, p->cents_hi);
    char unit[24];
    payload_money(price, unit);
    *total += qty * price;
    json_t *item = json_pack("{s:s, s:s, s:I, s:s}", "sku", p->sku, "name", p->name, "quantity",
                             (json_int_t)qty, "unit_price", unit);
    if (verbose) {
        /* Bulk orders carry per-line notes from the buyer's system. */
        char ref[37];
        payload_uuid(s, ref);
        json_object_set_new(item, "line_ref", json_string(ref));
        json_object_set_new(item, "note",
                            json_string("Lieferung an Wareneingang Tor 3 — "
                                        "bitte vorher anrufen / call ahead"));
    }
    return item;
}

json_t *sim_payload_event(struct sim *s, const char *event_type)
{
    const struct payload_person *who = &payload_people[sim_rand(s) % COUNT(payload_people)];
    const struct payload_place *where = &payload_places[sim_rand(s) % COUNT(payload_places)];
    char event_id[37], trace[33], when[33], phone[24], card[20], iban[23], amount[24];
    char email[96], house[8], digits[12];

    payload_uuid(s, event_id);
    snprintf(trace, sizeof(trace), "%016" PRIx64 "%016" PRIx64, sim_rand(s), sim_rand(s));
    /* Times an engine writes itself carry their zone. */
    sim_iso(s->now_us, false, when);
    strcat(when, "Z");
    snprintf(email, sizeof(email), "%s%" PRIu64 "@%s", who->mailbox, sim_between(s, 1, 99),
             sim_pick(s, payload_domains, COUNT(payload_domains)));
    payload_digits(s, digits, 10);
    snprintf(phone, sizeof(phone), "%s %.3s %.7s", where->phone_prefix, digits, digits + 3);
    snprintf(house, sizeof(house), "%" PRIu64, sim_between(s, 1, 240));
    payload_card(s, card);
    payload_iban(s, iban);

    /* A few lines usually; now and then a bulk order of 100-300 KB. */
    bool large = sim_between(s, 1, PAYLOAD_LARGE_ONE_IN) == 1;
    size_t target = large ? (size_t)sim_between(s, PAYLOAD_LARGE_MIN, PAYLOAD_LARGE_MAX) : 0;
    json_t *items = json_array();
    uint64_t total = 0;
    if (large) {
        /* Grow until the serialised lines reach the target size. */
        for (size_t size = 0; size < target;) {
            json_t *item = payload_item(s, &total, true);
            size += json_dumpb(item, NULL, 0, JSON_COMPACT) + 1;
            json_array_append_new(items, item);
        }
    } else {
        for (uint64_t i = 0, n = sim_between(s, 1, 5); i < n; i++)
            json_array_append_new(items, payload_item(s, &total, false));
    }
    payload_money(total, amount);

    char *order_id = sim_new_id(s, "ORD");
    /* One line per object, as it reads in JSON. */
    /* clang-format off */
    json_t *payload = json_pack(
        "{s:s, s:{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}}, s:{s:s, s:s, s:s, s:s, s:s}, s:o}",
        "order_id", order_id,
        "customer", "name", who->name, "email", email, "phone", phone,
            "address", "street", where->street, "house_number", house, "city", where->city,
            "postal_code", where->postal_code,
        "payment", "method", "card", "card_number", card, "iban", iban, "amount", amount,
            "currency", where->currency,
        "items", items);
    /* clang-format on */
    json_object_set_new(json_object_get(json_object_get(payload, "customer"), "address"), "country",
                        json_string(where->country));

    /* What a step adds on its way through the flow. */
    if (strncmp(event_type, "shipment.", 9) == 0) {
        char tracking[16];
        payload_digits(s, tracking, 12);
        json_object_set_new(payload, "shipment",
                            json_pack("{s:s, s:s}", "carrier",
                                      sim_pick(s, payload_carriers, COUNT(payload_carriers)),
                                      "tracking_number", tracking));
    } else if (strncmp(event_type, "customer.", 9) == 0) {
        json_object_set_new(payload, "notification",
                            json_pack("{s:s, s:s}", "channel",
                                      sim_pick(s, payload_channels, COUNT(payload_channels)),
                                      "template", "order_status_update"));
    }

    json_t *ev =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:o}", "event_id", event_id, "event_type",
                  event_type, "occurred_at", when, "trace_id", trace, "source_service",
                  "order-service", "schema_version", 2, "payload", payload);
    free(order_id);
    return ev;
}
