import pytest
from django.core.management import call_command


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simulate_checkout_race_in_process(capsys):
    call_command("simulate_checkout_race", "--buyers", "30", "--stock", "10")
    out = capsys.readouterr().out
    assert "orders created:  10" in out
    assert "409 (stock):     20" in out
    assert "other errors:    0" in out
    assert "final stock:     0" in out
    assert "oversold:        0" in out


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simulate_checkout_race_over_http(live_server, capsys):
    call_command("simulate_checkout_race", "--buyers", "20", "--stock", "5", "--url", live_server.url)
    out = capsys.readouterr().out
    assert "orders created:  5" in out
    assert "409 (stock):     15" in out
    assert "other errors:    0" in out
    assert "oversold:        0" in out


@pytest.mark.django_db
def test_expire_orders_command_with_nothing_to_do(capsys):
    call_command("expire_orders")
    assert "Expired 0 orders." in capsys.readouterr().out


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simulate_voucher_race_over_http(live_server, capsys, settings):
    settings.RATELIMIT_ENABLE = False
    call_command("simulate_voucher_race", "--buyers", "20", "--limit", "5", "--url", live_server.url)
    out = capsys.readouterr().out
    assert "orders with it:     5" in out
    assert "409 (exhausted):    15" in out
    assert "other errors:       0" in out
    assert "over-redemptions:   0" in out


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simulate_voucher_race_in_process(capsys):
    call_command("simulate_voucher_race", "--buyers", "30", "--limit", "10")
    out = capsys.readouterr().out
    assert "orders with it:     10" in out and "409 (exhausted):    20" in out and "over-redemptions:   0" in out
