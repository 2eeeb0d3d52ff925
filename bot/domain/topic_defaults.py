"""The topics a new team starts with: an Italian consumer brand's usual care traffic.

The team can rename them, drop them, add keywords or add topics of its own (`/care topics`);
these are only the starting list. Keywords are written as a customer writes them, in Italian
and English; `topics.stems` takes care of case, accents, inflection and a typo, so one form of
a word is enough ("rimborso" also finds "rimborsi", "rimborsato"). "other" is what the agent
picks when nothing fits; its few keywords catch the common off-topic requests (jobs,
sponsorships), and otherwise the suggester abstains.
"""

from __future__ import annotations

from bot.domain.topics import TopicProfile


def _profile(name: str, italian: str, english: str) -> TopicProfile:
    """A profile from keywords separated by commas (a keyword may be a phrase); the two
    languages are apart only for whoever reads or edits this list."""
    keywords = f"{italian},{english}".split(",")
    return TopicProfile(name, tuple(k.strip() for k in keywords if k.strip()))


DEFAULT_TOPICS: tuple[TopicProfile, ...] = (
    _profile(
        "delivery",
        italian="""consegna, spedizione, corriere, pacco, collo, tracking, tracciamento,
            giacenza, in transito, smistamento, mittente, destinatario, locker, brt, gls, sda,
            dhl, ups, fascia oraria, in preparazione, express""",
        english="""delivery, shipping, ship, shipment, courier, parcel, package, driver,
            doorstep, dispatch, customs, click and collect, eta, out for delivery, in transit,
            where is my order""",
    ),
    _profile(
        "refund",
        italian="""rimborso, reso, restituire, rimandare, recesso, ripensamento,
            diritto di recesso, soldi indietro, ridatemi i soldi, riaccredito, sostituzione,
            rma, etichetta del reso""",
        english="""refund, return, money back, exchange, replacement, send it back, sent back,
            cooling off, restocking fee, return label, store credit, voucher""",
    ),
    _profile(
        "billing",
        italian="""bolletta, fattura, addebito, addebitato, prelevato, pagamento, canone,
            tariffa, rimodulazione, ricarica, credito residuo, iban, domiciliazione, sdd, rid,
            bonifico, mora, sollecito, rata, conguaglio, penale, costi di disattivazione,
            spese di gestione, insoluto, partita iva""",
        english="""bill, invoice, charge, overcharged, fee, payment, paid, direct debit, top-up,
            topup, balance, price went up, instalment, installment, termination fee, vat,
            bank transfer, took money""",
    ),
    _profile(
        "account",
        italian="""account, accesso, accedere, login, password, credenziali, username,
            area clienti, area personale, profilo, app, applicazione, otp, codice di verifica,
            due fattori, spid, registrarmi, registrazione, face id, logout, sloggare,
            sessione scaduta, crasha, hackerato, dati personali, gdpr, consenso marketing,
            notifiche""",
        english="""log in, logged in, logging me out, sign in, verification code, 2fa, website,
            hacked, delete my account, my data, marketing emails, unsubscribe""",
    ),
    _profile(
        "fault",
        italian="""guasto, disservizio, down, internet, connessione, linea, senza linea, campo,
            segnale, modem, router, wifi, lento, lentissimo, velocità, 4g, 3g, adsl, fibra,
            chiamate cadono, disconnette, nessun servizio, irraggiungibile, ping, blackout,
            decoder, hotspot""",
        english="""outage, no internet, broadband, fiber, signal, mobile data, slow, speed,
            dropping, disconnects, landline, buffering, unreachable, network, fault, reception""",
    ),
    _profile(
        "product",
        italian="""disponibile, esaurito, offerta, promo, prezzo, quanto costa, modello,
            compatibile, caratteristiche, garanzia, ricondizionati, iphone, samsung, galaxy,
            pixel, smartwatch, tablet, ps5, black friday, saldi, volantino, bundle, 5g, tariffa,
            pollici, cover, confezione, senza vincoli, senza abbonamento, preordine, giga""",
        english="""in stock, back in stock, available, availability, price, deal, plan,
            compatible, specs, recommend, model, warranty, refurbished, discount, in the box,
            without a contract, inch, phone case""",
    ),
    _profile(
        "store",
        italian="""negozio, negozi, punto vendita, orari, orario, apertura, aperto, chiuso,
            chiudete, apre, domenica, festivi, ferragosto, pranzo, parcheggio, appuntamento,
            centro commerciale, galleria, cassa""",
        english="""store, shop, opening hours, hours, open, closed, bank holiday, appointment,
            parking, flagship, nearest store, wheelchair""",
    ),
    _profile(
        "staff",
        italian="""operatore, operatrice, commesso, addetto, dipendente, personale,
            servizio clienti, call center, numero verde, assistenza, maleducato, scortese,
            sgarbato, arrogante, impreparato, in faccia, nessuno risponde, richiamata, reclamo,
            responsabile, trattamento, chatbot, copia incolla, venditore, ignorato""",
        english="""agent, staff, employee, rude, customer service, call centre, on hold,
            hung up, manager, nobody replies, callback, formal complaint, salesperson,
            condescending, treat""",
    ),
    _profile(
        "praise",
        italian="""grazie, grazie mille, grazie davvero, vi ringrazio, complimenti, bravi,
            bravissimo, gentilissimo, ottimo, impeccabile, top, 10 e lode, mi avete salvato,
            tutto risolto, problema risolto, perfetto, ❤, 👏, 😊, 👍""",
        english="""thank you, thanks, cheers, great, amazing, brilliant, impressed, well done,
            kudos, the best, love, helpful, appreciate, all sorted, perfect""",
    ),
    _profile(
        "other",
        italian="""curriculum, cv, candidatura, stage, tirocinio, sponsor, sponsorizzate,
            collaborazione, collaboriamo, influencer""",
        english="""hiring, job, internship, sponsorship, collab""",
    ),
)
