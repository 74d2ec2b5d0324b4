"""The composition root: builds every store and service once, from the settings."""

from __future__ import annotations

import datetime as dt

from hubstead.domain.client_address import parse_networks
from hubstead.protocols.urls import (
    SITE,  # the web paths, for links in rendered Markdown (imports only the domain)
)
from hubstead.services.accounts import AccountService
from hubstead.services.attachments import AttachmentService
from hubstead.services.audit import AuditLog
from hubstead.services.cards import CardService
from hubstead.services.commits import CommitService
from hubstead.services.counters import CounterService
from hubstead.services.discovery import DiscoveryService
from hubstead.services.discussions import DiscussionService
from hubstead.services.duplication import RepoDuplicator
from hubstead.services.files import FileService
from hubstead.services.gating import GatingService
from hubstead.services.health import ReadinessService
from hubstead.services.inference import InferenceService
from hubstead.services.jobs import JobService, standard_handlers
from hubstead.services.lfs import LfsService
from hubstead.services.lfs_files import LfsFileService
from hubstead.services.listing_index import ListingIndex
from hubstead.services.maintenance import collect_garbage
from hubstead.services.model_tree import ModelTreeService
from hubstead.services.pickle_scan import PickleScanService
from hubstead.services.profiles import ProfileService
from hubstead.services.refs import RefService
from hubstead.services.repos import RepoService
from hubstead.services.resolve_cache import ResolveCache
from hubstead.services.sessions import SessionService
from hubstead.services.signing import UrlSigner
from hubstead.services.weights import ParameterCounts, WeightsService
from hubstead.services.xet import XetService
from hubstead.settings import Settings
from hubstead.storage.blobstore import open_blob_store
from hubstead.storage.database import Database
from hubstead.storage.gitrepo import GitStore
from hubstead.storage.locks import open_locks


class Hub:
    def __init__(self, settings: Settings):
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(settings.database_url)
        self.blobs = open_blob_store(
            settings.storage_url,
            settings.blobs_dir,
            endpoint_url=settings.s3_endpoint_url,
            delivery=settings.s3_delivery,
        )
        # where browsers are sent for large files (the pages' content policy names it)
        self.store_origin = self.blobs.browser_origin
        self.git = GitStore(settings.repos_dir)
        self.trusted_proxies = parse_networks(settings.trusted_proxies)
        # serialize ref changes across processes: advisory locks on PostgreSQL, flocks on SQLite
        self.locks = open_locks(self.db.url, self.db.is_sqlite, settings.data_dir)
        self.signer = UrlSigner(settings.secret_key, settings.signed_url_ttl)
        self.accounts = AccountService(
            self.db,
            settings.token_cache_seconds,
            signup_default=settings.allow_signup,
            token_max_days=settings.token_max_days,
        )
        self.audit = AuditLog(self.db)
        self.sessions = SessionService(self.db, self.accounts, settings.secret_key)
        self.index = ListingIndex(self.db)
        self.resolve_cache = ResolveCache(settings.resolve_cache_bytes)
        self.repos = RepoService(
            self.db, self.git, self.index, self.locks, cache=self.resolve_cache
        )
        self.lfs = LfsService(
            self.db,
            self.blobs,
            self.signer,
            settings.lfs_multipart_threshold,
            settings.lfs_multipart_chunk_size,
            max_object_bytes=settings.max_lfs_object_bytes,
            max_parts=settings.max_lfs_parts,
        )
        self.discussions = DiscussionService(self.db, self.repos, paths=SITE)
        self.commits = CommitService(self.db, self.repos, self.lfs, self.discussions)
        self.refs = RefService(self.repos)
        self.lfs_files = LfsFileService(self.db, self.lfs, self.repos)
        self.xet = XetService(self.db, self.blobs, self.signer)
        self.files = FileService(self.db, self.blobs, self.xet, self.resolve_cache)
        self.cards = CardService(
            self.db,
            self.git,
            self.blobs,
            self.xet,
            self.files,
            self.index,
            paths=SITE,
            parameter_counts=ParameterCounts(settings.max_safetensors_header_bytes),
        )
        self.repos.ref_listeners.append(self.cards.on_ref_change)
        # every commit and push: the pickle files of the new target are scanned (after the card)
        self.pickle_scans = PickleScanService(
            self.db, self.git, self.blobs, self.xet, settings.pickle_scan_max_bytes
        )
        self.repos.ref_listeners.append(self.pickle_scans.on_ref_change)
        self.gating = GatingService(self.db, self.cards)
        self.discovery = DiscoveryService(self.db, self.index, settings.inference.serving_rules())
        self.model_trees = ModelTreeService(self.repos, self.cards, self.discovery)
        self.counters = CounterService(self.db)
        self.profiles = ProfileService(self.db, self.git)
        self.duplicator = RepoDuplicator(self.db, self.repos, self.blobs)
        self.weights = WeightsService(self.files, self.xet, settings.max_safetensors_header_bytes)
        self.attachments = AttachmentService(settings.data_dir / "uploads")
        self.readiness = ReadinessService(self.db, self.blobs, settings.data_dir)
        self.inference = InferenceService(
            settings.inference, settings.data_dir, self.db, self.cards, self.files, self.xet
        )
        # background work (services/jobs.py): run by `hubstead serve`'s job process
        self.jobs = JobService(
            self.db,
            standard_handlers(
                counters=self.counters,
                index=self.index,
                cards=self.cards,
                collect_garbage=lambda grace: collect_garbage(self.db, self.blobs, grace),
                gc_grace=dt.timedelta(seconds=settings.gc_grace_seconds),
            ),
        )
