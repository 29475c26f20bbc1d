#!/usr/bin/python3
"""quantlib_ref.py — QuantLib's answers for tests/integration/test_options_quantlib.sh.

Run with Debian's /usr/bin/python3 (it sees the quantlib-python package that
`make deps` installs; a pyenv python3 first on PATH does not):

    /usr/bin/python3 quantlib_ref.py [units] [european] [implied] [american] > ref.tsv

One tab-separated record per line, numbers as repr() (shortest round trip):
  units     name  quantlib_value  finite_difference
  bs        right spot strike days rate div vol  price delta gamma vega theta rho
  iv        right spot strike days rate div vol  price quantlib_implied_vol
  american  right spot strike days rate div vol  price_crr_2000

right is 1 (call) or 2 (put), alluse's OPT_CALL / OPT_PUT.  t = days / 365 exactly:
the evaluation date is fixed, the expiry is that date + days, every curve uses
Actual365Fixed and NullCalendar, so QuantLib's year fraction is days / 365.0 to the bit
(checked below).  Rates and yields are flat curves with continuous compounding, the
vol a BlackConstantVol.  Exit status 3 when QuantLib cannot be imported.
"""
import sys

try:
    import QuantLib as ql
except ImportError:
    sys.stderr.write("QuantLib is missing for /usr/bin/python3: run make deps (quantlib-python)\n")
    sys.exit(3)

TODAY = ql.Date(15, ql.January, 2024)
DC = ql.Actual365Fixed()


class Market:
    """One Black-Scholes-Merton process whose inputs are quotes we move."""

    def __init__(self):
        ql.Settings.instance().evaluationDate = TODAY
        self.spot = ql.SimpleQuote(100.0)
        self.rate = ql.SimpleQuote(0.0)
        self.div = ql.SimpleQuote(0.0)
        self.vol = ql.SimpleQuote(0.2)
        rts = ql.YieldTermStructureHandle(
            ql.FlatForward(TODAY, ql.QuoteHandle(self.rate), DC, ql.Continuous))
        qts = ql.YieldTermStructureHandle(
            ql.FlatForward(TODAY, ql.QuoteHandle(self.div), DC, ql.Continuous))
        vts = ql.BlackVolTermStructureHandle(
            ql.BlackConstantVol(TODAY, ql.NullCalendar(), ql.QuoteHandle(self.vol), DC))
        self.process = ql.BlackScholesMertonProcess(ql.QuoteHandle(self.spot), qts, rts, vts)
        self.european_engine = ql.AnalyticEuropeanEngine(self.process)

    def set(self, spot, rate, div, vol):
        self.spot.setValue(spot)
        self.rate.setValue(rate)
        self.div.setValue(div)
        self.vol.setValue(vol)

    def european(self, right, strike, days):
        kind = ql.Option.Call if right == 1 else ql.Option.Put
        o = ql.VanillaOption(ql.PlainVanillaPayoff(kind, strike),
                             ql.EuropeanExercise(TODAY + days))
        o.setPricingEngine(self.european_engine)
        return o


def fmt(*values):
    return "\t".join(v if isinstance(v, str) else repr(v) for v in values)


def check_year_fraction(days_list):
    for days in days_list:
        t = DC.yearFraction(TODAY, TODAY + days)
        if t != days / 365.0:
            raise SystemExit("year fraction of %d days is %r, not %r" % (days, t, days / 365.0))


def units(out):
    """QuantLib's greeks against central differences of its own NPV: theta per year
    (-dV/dT with T in years), vega per 1.00 of vol, rho per 1.00 of rate."""
    m = Market()
    m.set(100.0, 0.05, 0.02, 0.3)
    days, strike = 365, 105.0
    o = m.european(1, strike, days)
    vega, rho, theta, theta_day = o.vega(), o.rho(), o.theta(), o.thetaPerDay()

    def npv_at(vol=0.3, rate=0.05, d=days):
        m.set(100.0, rate, 0.02, vol)
        return m.european(1, strike, d).NPV()

    h = 1e-4
    out.append(fmt("units", "vega", vega, (npv_at(vol=0.3 + h) - npv_at(vol=0.3 - h)) / (2 * h)))
    out.append(fmt("units", "rho", rho, (npv_at(rate=0.05 + h) - npv_at(rate=0.05 - h)) / (2 * h)))
    # One calendar day either side of the expiry: dT = 2 / 365 years.
    fd_theta = -(npv_at(d=days + 1) - npv_at(d=days - 1)) / (2 / 365.0)
    out.append(fmt("units", "theta", theta, fd_theta))
    out.append(fmt("units", "theta_per_day_x365", theta_day * 365.0, theta))


MONEYNESS = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 1.0, 1.02, 1.05, 1.1, 1.2, 1.3, 1.4, 1.5]
DAYS = [1, 2, 7, 14, 30, 60, 91, 182, 365, 548, 730]
VOLS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2, 2.0]
RATES = [0.0, 0.02, 0.05, 0.08]
DIVS = [0.0, 0.01, 0.03]


def european_grid():
    """The full grid at spot 100, and a smaller one at a cheap and an index-sized spot."""
    for right in (1, 2):
        for mon in MONEYNESS:
            for days in DAYS:
                for vol in VOLS:
                    for rate in RATES:
                        for div in DIVS:
                            yield right, 100.0, 100.0 * mon, days, rate, div, vol
    for spot in (7.25, 4512.5):
        for right in (1, 2):
            for mon in (0.5, 0.9, 1.0, 1.1, 1.5):
                for days in (1, 30, 365, 730):
                    for vol in (0.05, 0.3, 2.0):
                        for rate, div in ((0.0, 0.0), (0.08, 0.03)):
                            yield right, spot, spot * mon, days, rate, div, vol


def european(out):
    m = Market()
    check_year_fraction(DAYS)
    for right, spot, strike, days, rate, div, vol in european_grid():
        m.set(spot, rate, div, vol)
        o = m.european(right, strike, days)
        out.append(fmt("bs", right, spot, strike, days, rate, div, vol, o.NPV(), o.delta(),
                       o.gamma(), o.vega(), o.theta(), o.rho()))


def implied(out):
    """QuantLib's impliedVolatility of its own price, on a sub-grid (each solve is a
    Brent search over full engine evaluations).  Cases where QuantLib's solver gives
    up (prices that carry almost no vol information) are left out; alluse's own
    round trips over those are tests/c/test_bsm.c's."""
    m = Market()
    for right in (1, 2):
        for mon in MONEYNESS:
            for days in (7, 30, 182, 730):
                for vol in VOLS:
                    for rate, div in ((0.0, 0.0), (0.05, 0.0), (0.05, 0.03), (0.0, 0.03)):
                        m.set(100.0, rate, div, vol)
                        o = m.european(right, 100.0 * mon, days)
                        price = o.NPV()
                        try:
                            ivol = o.impliedVolatility(price, m.process, 1e-12, 1000, 1e-7, 5.0)
                        except RuntimeError:
                            continue
                        out.append(fmt("iv", right, 100.0, 100.0 * mon, days, rate, div, vol,
                                       price, ivol))


def american_grid():
    for right in (1, 2):
        for mon in (0.8, 0.9, 1.0, 1.1, 1.2):
            for days, vol in ((30, 0.6), (91, 0.25), (365, 0.3), (730, 0.15)):
                for rate, div in ((0.05, 0.0), (0.08, 0.03), (0.02, 0.03)):
                    yield right, 100.0, 100.0 * mon, days, rate, div, vol


def american_one(case):
    right, spot, strike, days, rate, div, vol = case
    m = Market()
    m.set(spot, rate, div, vol)
    kind = ql.Option.Call if right == 1 else ql.Option.Put
    o = ql.VanillaOption(ql.PlainVanillaPayoff(kind, strike),
                         ql.AmericanExercise(TODAY, TODAY + days))
    o.setPricingEngine(ql.BinomialVanillaEngine(m.process, "crr", 2000))
    return fmt("american", right, spot, strike, days, rate, div, vol, o.NPV())


def american(out):
    """BinomialVanillaEngine("crr", 2000): about 0.2 s an option, so two processes."""
    import multiprocessing
    with multiprocessing.Pool(2) as pool:
        out.extend(pool.map(american_one, list(american_grid())))


def main(argv):
    parts = argv or ["units", "european", "implied", "american"]
    out = []
    for part in parts:
        {"units": units, "european": european, "implied": implied, "american": american}[part](out)
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
