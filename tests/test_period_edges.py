"""A locked period takes no postings of any kind, and no close-out either, even one that
posts nothing (mutation testing, second round)."""

from tests.builders import order
from tests.conftest import a_day_that_lasts
from tests.fingerprint import fingerprint
from tests.test_closeout import acme, refused  # noqa: F401 (the fixture)
from tests.test_import_refusals import RECEIPTS, import_refused, shop  # noqa: F401 (the fixture)


def test_a_close_out_that_posts_nothing_is_refused_in_a_locked_period_and_takes_no_number(acme):
    """Nothing received or invoiced: closing fully lowers both by 10 and posts nothing, but
    it closes the line and takes a number (DOMAIN.md); dated in a locked month it is refused
    before anything is changed."""
    with acme.session() as s:
        order(s, "PO-1", ("BOLT", 10, "100.00"))
    assert acme.cli("period", "lock", "2026-06").exit_code == 0
    with acme.session() as s:
        before = fingerprint(s)
    out = refused(acme, "run", "--close-fully", "--date", "2026-06-30")
    assert out == ("pledger: period 2026-06 is locked: 2026-06-30 takes no postings "
                   "(unlock it with 'pledger period unlock 2026-06' or give --date a day of an open period)\n")
    with acme.session() as s:
        assert fingerprint(s) == before
    assert acme.cli("closeout", "run", "--close-fully", "--date", "2026-07-01", "--format", "json").exit_code == 0
    assert acme.raw("select number from closeouts").scalars().all() == [1]


def test_a_locked_period_refusal_names_date_where_the_command_takes_one_and_today_is_locked(shop):
    """`po receive` dated today (no --date) in a locked month: the way out is --date, which
    the refusal names; a CSV import dates by its rows, and keeps "choose another date"."""
    today = a_day_that_lasts()
    period = f"{today.year}-{today.month:02d}"
    assert shop.cli("year", "open", str(today.year)).exit_code == 0
    assert shop.cli("period", "lock", period).exit_code == 0
    result = shop.cli("po", "receive", "PO-2", "--receipt", "R-LOCKED")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (f"pledger: period {period} is locked: {today.isoformat()} takes no postings (unlock it with "
                             f"'pledger period unlock {period}' or give --date a day of an open period)\n")


def test_a_receipt_dated_in_a_locked_period_is_refused_by_its_row_and_column(shop, tmp_path):
    assert shop.cli("period", "lock", "2026-05").exit_code == 0
    path, said = import_refused(shop, tmp_path, "receipts", RECEIPTS + "R-9,2026-06-01,PO-2,1,1\nR-10,2026-05-31,PO-2,1,1\n")
    assert said == (f"{path}: row 3, column date: period 2026-05 is locked: 2026-05-31 takes no postings "
                    f"(unlock it with 'pledger period unlock 2026-05' or choose another date)")


def test_a_saved_trial_dated_in_a_period_locked_since_names_no_date_option_it_cannot_take(acme, tmp_path):
    """A trial reviewed for 06-30, then June locked: `closeout run --from-trial FILE` said
    "give --date a day of an open period", and --date with --from-trial is a usage mistake
    (the trial's date is the one reviewed). The way out is to unlock, or to review a new
    trial dated in an open period."""
    with acme.session() as s:
        order(s, "PO-1", ("BOLT", 10, "100.00"))
    saved = tmp_path / "trial.jsonl"
    assert acme.cli("closeout", "run", "--close-fully", "--date", "2026-06-30", "--trial", "--save", saved).exit_code == 0
    assert acme.cli("period", "lock", "2026-06").exit_code == 0
    out = refused(acme, "run", "--from-trial", saved)
    assert out == ("pledger: period 2026-06 is locked: 2026-06-30 takes no postings (unlock it with 'pledger period "
                   "unlock 2026-06' or review a new trial dated in an open period: --trial --date D --save FILE)\n")
    assert acme.raw("select count(*) from closeouts").scalar() == 0
