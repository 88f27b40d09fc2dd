"""``make dist``: the wheel, the offline bundle, a .deb and an .rpm in ``dist/``.

The offline bundle is what a server in a closed segment receives: every dependency as a wheel
for CPython 3.11–3.13 on x86_64 Linux (glibc 2.17 and newer, which Astra Linux, RED OS and ALT
all have) and ``install.sh``, which needs no network.  The .deb and .rpm carry the same files in
``/opt/pos-connector/dist`` and run the same ``install.sh`` from their maintainer scripts.

Run from the repository root: ``python packaging/build_dist.py [--out dist] [--skip-rpm]``.
"""

from __future__ import annotations

import argparse
import configparser
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
PYTHONS = ("3.11", "3.12", "3.13")
# manylinux tags down to glibc 2.17: the oldest glibc among the supported distributions is 2.28.
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "linux_x86_64")
BUILD_WARNINGS = ("would be ignored", "absent from the `packages` configuration")


class DistError(Exception):
    pass


def version() -> str:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg", encoding="utf-8")
    return cfg["metadata"]["version"]


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, text=True, capture_output=True, **kwargs)  # type: ignore[call-overload]
    if proc.returncode != 0:
        raise DistError(f"{' '.join(cmd[:4])} … failed ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return proc  # type: ignore[no-any-return]


def build_wheel(out: Path) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        proc = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-v",
                    "-w", tmp, str(ROOT)])
        noisy = [line for line in (proc.stdout + proc.stderr).splitlines()
                 if any(marker in line for marker in BUILD_WARNINGS)]
        if noisy:
            raise DistError("the wheel build warns about undeclared packages:\n" + "\n".join(noisy[:10]))
        built = sorted(Path(tmp).glob("pos_connector-*.whl"))
        if len(built) != 1:
            raise DistError(f"expected one wheel, got {[p.name for p in built]}")
        target = out / built[0].name
        shutil.copy2(built[0], target)
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    return target


def download_wheelhouse(wheel: Path, wheels: Path) -> None:
    wheels.mkdir(parents=True, exist_ok=True)
    shutil.copy2(wheel, wheels / wheel.name)
    for python in PYTHONS:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
               "--implementation", "cp", "--python-version", python, "--dest", str(wheels)]
        for platform in PLATFORMS:
            cmd += ["--platform", platform]
        run([*cmd, f"{wheel}[postgres]"])


def stage_bundle(wheel: Path, stage: Path) -> None:
    """The offline bundle's layout, also what the packages put in /opt/pos-connector/dist."""
    stage.mkdir(parents=True)
    download_wheelhouse(wheel, stage / "wheels")
    shutil.copy2(PACKAGING / "install.sh", stage / "install.sh")
    (stage / "install.sh").chmod(0o755)
    shutil.copy2(PACKAGING / "OFFLINE.md", stage / "README.md")


def write_tarball(stage: Path, out: Path, name: str) -> Path:
    target = out / f"{name}-offline.tar.gz"

    def normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    with tarfile.open(target, "w:gz") as tar:
        tar.add(stage, arcname=name, filter=normalise)
    return target


def build_deb(stage: Path, out: Path, ver: str) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        shutil.copytree(stage, root / "opt" / "pos-connector" / "dist")
        debian = root / "DEBIAN"
        debian.mkdir()
        size_kb = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) // 1024
        (debian / "control").write_text(
            "Package: pos-connector\n"
            f"Version: {ver}\n"
            "Architecture: amd64\n"
            "Maintainer: pos-connector maintainers <root@localhost>\n"
            "Depends: python3 (>= 3.11), python3-venv, fonts-dejavu-core\n"  # the МЭДО PDF main document

            f"Installed-Size: {size_kb}\n"
            "Section: admin\n"
            "Priority: optional\n"
            "Description: POS (Gosuslugi. Reshaem vmeste) to EDMS to SSTU.RF gateway\n"
            " Installs an offline wheelhouse into /opt/pos-connector/dist and runs its install.sh:\n"
            " the venv, the pos-connector user, /etc/pos-connector and the systemd unit.\n",
            encoding="utf-8")
        for script in ("postinst", "prerm", "postrm"):
            shutil.copy2(PACKAGING / "deb" / script, debian / script)
            (debian / script).chmod(0o755)
        target = out / f"pos-connector_{ver}_amd64.deb"
        run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(target)])
    return target


def build_rpm(stage: Path, out: Path, ver: str) -> Path:
    if shutil.which("rpmbuild") is None:
        raise DistError("rpmbuild not found: apt-get install rpm (Debian's package builds .rpm files)")
    with tempfile.TemporaryDirectory() as tmp:
        top = Path(tmp) / "rpmbuild"
        staged = Path(tmp) / "staged"
        shutil.copytree(stage, staged / "opt" / "pos-connector" / "dist")
        run(["rpmbuild", "-bb", str(PACKAGING / "rpm" / "pos-connector.spec"),
             "--define", f"_topdir {top}", "--define", f"pkg_version {ver}",
             "--define", f"staged_root {staged}", "--define", "_binary_payload w9.gzdio"])
        built = sorted((top / "RPMS").rglob("*.rpm"))
        if len(built) != 1:
            raise DistError(f"expected one rpm, got {[p.name for p in built]}")
        target = out / built[0].name
        shutil.copy2(built[0], target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument("--skip-packages", action="store_true", help="only the wheel and the offline bundle")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    ver = version()
    name = f"pos-connector-{ver}"
    try:
        wheel = build_wheel(out)
        print(f"wheel: {wheel}")
        with tempfile.TemporaryDirectory() as tmp:
            stage = Path(tmp) / name
            stage_bundle(wheel, stage)
            print(f"offline bundle: {write_tarball(stage, out, name)}")
            if not args.skip_packages:
                print(f"deb: {build_deb(stage, out, ver)}")
                print(f"rpm: {build_rpm(stage, out, ver)}")
    except DistError as exc:
        print(f"make dist: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
