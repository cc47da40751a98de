"""The scan's time left, steady (issue 15 item 1): the ScanController passes every report on
with the rate measured once per stored batch and smoothed, so the ETA counts down inside a batch
and does not jump back up at the next one. Driven by the signal a worker emits, with reports
made the way the scanner makes them (its own `throughput`); no clock is read or asserted."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.scanner import RATE_WINDOW_S, ScanProgress, throughput


class _Worker(QObject):
    """What the controller listens to on a ScanWorker: its progress signal."""

    progress = Signal(object)


def scanner_reports(total: int, size: int, gaps: tuple[float, ...]) -> list[ScanProgress]:
    """Reports as the scanner sends them: `size` tracks stored together per batch, batches
    `gaps` seconds apart in turn, each track reported with the rate measured at that moment."""
    samples: list[tuple[float, int]] = []
    reports, worked, now, batch = [], 0, 10.0, 0
    while worked < total:
        batch += 1
        samples.append((now, worked + 1))
        for _ in range(min(size, total - worked)):
            worked += 1
            samples[-1] = (samples[-1][0], worked)
            rate = throughput(samples, worked, now)
            eta = (total - worked) / rate if rate > 0 else None
            reports.append(ScanProgress(worked, total, rate, eta, f"t{worked}.wav", batch))
        now += gaps[batch % len(gaps)]
        while len(samples) > 2 and now - samples[1][0] > RATE_WINDOW_S:
            del samples[0]
    return reports


def _shown(scan, reports: list[ScanProgress]) -> list[ScanProgress]:
    worker = _Worker()
    worker.progress.connect(scan.report)
    shown: list[ScanProgress] = []
    scan.progress.connect(shown.append)
    for p in reports:
        worker.progress.emit(p)
    return shown


def _rises(etas: list[float | None], factor: float) -> int:
    known = [e for e in etas if e is not None]
    return sum(1 for a, b in zip(known, known[1:], strict=False) if b > a * factor)


def test_the_eta_counts_down_instead_of_jumping_within_batches(scan):
    reports = scanner_reports(total=120, size=8, gaps=(1.5, 2.5))
    assert _rises([p.eta for p in reports], 1.05) >= 5  # what the scanner's own figure does
    shown = _shown(scan, reports)
    assert [p.done for p in shown] == [p.done for p in reports]  # every report passes
    assert [p.current for p in shown] == [p.current for p in reports]
    etas = [p.eta for p in shown]
    assert _rises(etas, 1.0001) == 0  # steady throughput: the time left only goes down
    # nothing is made up: unknown until a whole batch was measured, then the tracks left at
    # about the real throughput (8 tracks every 2 s on average: 4 tracks/s)
    first = next(i for i, e in enumerate(etas) if e is not None)
    assert shown[first].batch == 3 and all(p.rate == 0 for p in shown[:first])
    assert 3.0 < shown[-10].rate < 5.5
    assert shown[-1].eta == 0


def test_a_slowdown_moves_the_eta_gradually(scan):
    fast = scanner_reports(total=200, size=8, gaps=(1.0,))
    slow = scanner_reports(total=200, size=8, gaps=(4.0,))
    reports = fast[:80] + slow[80:]  # halfway the tracks take four times as long
    shown = _shown(scan, reports)
    assert shown[-10].rate < shown[79].rate / 2  # it follows: the scan got slower
    known = [p.eta for p in shown[79:] if p.eta is not None]
    assert len(known) == len(shown) - 79  # measured all along
    assert max(known) > 1.5 * known[0]  # so the time left goes up
    assert all(b < a * 1.6 for a, b in zip(known, known[1:], strict=False))  # in steps


def test_a_new_scan_starts_measuring_afresh(qtbot, scan, music):
    _shown(scan, scanner_reports(total=40, size=8, gaps=(2.0,)))
    shown: list[ScanProgress] = []
    scan.progress.connect(shown.append)
    scan.start_scan([str(music)])  # a real scan: its first reports know no rate yet
    qtbot.waitUntil(lambda: bool(shown), timeout=10_000)
    assert shown[0].rate == 0 and shown[0].eta is None
    scan.cancel()
    qtbot.waitUntil(lambda: not scan.is_running(), timeout=90_000)
