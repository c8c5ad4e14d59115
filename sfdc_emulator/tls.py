"""A local CA and a server certificate for 127.0.0.1, localhost and ::1.

Clients trust the emulator through ``ca-bundle.pem`` = the system bundle + our CA,
used as REQUESTS_CA_BUNDLE (requests lets that variable override Session.verify, so
setting verify on simple-salesforce's session alone does not work on these machines).
Certificates carry SKI/AKI and critical basic constraints so strict X.509 checks pass.
"""

import datetime
import ipaddress
import os
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def ensure_certificates(data_dir):
    """Create the CA and server certificate if missing; (re)write the CA bundle. Returns paths."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: data_dir / f"{name}.pem" for name in ("ca", "ca-key", "server", "server-key", "ca-bundle")}
    if not paths["ca"].exists() or not paths["ca-key"].exists():
        _write_ca(paths["ca"], paths["ca-key"])
        paths["server"].unlink(missing_ok=True)
    if not paths["server"].exists() or not paths["server-key"].exists():
        _write_server_cert(paths)
    _write_bundle(paths["ca"], paths["ca-bundle"])
    return paths


def server_context(paths):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(paths["server"], paths["server-key"])
    return context


def _write_ca(cert_path, key_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "sfdc_emulator local CA"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Workestra dev"),
        ]
    )
    public = key.public_key()
    cert = (
        _builder(name, name, public, days=3650)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _write_server_cert(paths):
    ca_key = serialization.load_pem_private_key(paths["ca-key"].read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate(paths["ca"].read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    alt_names = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    cert = (
        _builder(subject, ca_cert.subject, key.public_key(), days=825)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(paths["server-key"], key)
    paths["server"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _builder(subject, issuer, public_key, days):
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
    )


def _write_key(path, key):
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    os.chmod(path, 0o600)


def _write_bundle(ca_path, bundle_path):
    system = _system_bundle()
    system_pem = Path(system).read_text() if system else ""
    if system_pem and not system_pem.endswith("\n"):
        system_pem += "\n"
    tmp = bundle_path.with_suffix(".tmp")
    tmp.write_text(system_pem + ca_path.read_text())
    tmp.replace(bundle_path)


def _system_bundle():
    try:
        import certifi  # optional: only used to find the system trust store

        return certifi.where()
    except ImportError:
        return SYSTEM_BUNDLE if os.path.exists(SYSTEM_BUNDLE) else None
