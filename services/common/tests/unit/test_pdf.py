"""PDF rendering: the text a reader extracts is the text given, French characters and amounts included."""
import datetime as dt
import io

import pytest
from pypdf import PdfReader

from guichet_common.pdf import Document, PdfFontMissing


def read(pdf_bytes):
    reader = PdfReader(io.BytesIO(pdf_bytes))
    pages = [page.extract_text().replace("\u00a0", " ") for page in reader.pages]
    return reader, pages


def test_a_receipt_reads_back_with_its_accents_euros_and_total():
    document = Document("Reçu de paiement", issuer="Ville de Démonstration", footer="Régie centrale",
                        created_at=dt.datetime(2026, 11, 25, 14, 30, tzinfo=dt.timezone.utc))
    document.heading("Facture FAC-2026-0042")
    document.paragraph("Paiement reçu le mercredi 25 novembre 2026 à 14 h 30 pour l'œuvre de la cantine "
                       "d'Élodie et de Zoé. Merci de conserver ce reçu : il vaut attestation.")
    document.amounts([("Cantine — novembre", 4560), ("Garderie périscolaire", 1230), ("Séjour été", 123456)],
                     total_label="Total payé")
    pdf_bytes = document.render()

    assert pdf_bytes.startswith(b"%PDF-")
    reader, pages = read(pdf_bytes)
    text = pages[0]
    for expected in ("Ville de Démonstration", "Reçu de paiement", "Facture FAC-2026-0042", "l'œuvre",
                     "d'Élodie et de Zoé", "Désignation", "Montant", "Cantine — novembre", "45,60 €",
                     "Garderie périscolaire", "12,30 €", "Séjour été", "1 234,56 €", "Total payé", "1 292,46 €",
                     "Régie centrale", "Page 1/1"):
        assert expected in text, expected
    assert text.index("45,60 €") < text.index("12,30 €") < text.index("Total payé")
    assert reader.metadata.title == "Reçu de paiement" and reader.metadata.author == "Ville de Démonstration"


def test_a_long_table_breaks_across_pages_and_repeats_its_header():
    document = Document("Relevé des paiements")
    document.table(["Date", "Libellé", "Montant"],
                   [[f"{day:02d}/11/2026", f"Repas n° {day}", "3,05 €"] for day in range(1, 91)],
                   align=["LEFT", "LEFT", "RIGHT"], widths=[1, 3, 1])
    _reader, pages = read(document.render())
    assert len(pages) >= 2
    assert all("Libellé" in page for page in pages)
    assert f"Page 1/{len(pages)}" in pages[0] and f"Page {len(pages)}/{len(pages)}" in pages[-1]
    everything = "\n".join(pages)
    assert all(f"Repas n° {day}" in everything for day in range(1, 91))


def test_amounts_without_a_total():
    document = Document("Tarifs").amounts([("Repas", 305)], total_label=None)
    _reader, pages = read(document.render())
    assert "3,05 €" in pages[0] and "Total" not in pages[0]


def test_a_missing_font_is_a_clear_error(tmp_path):
    with pytest.raises(PdfFontMissing, match="fonts-dejavu-core"):
        Document("Reçu", fonts=[tmp_path])
