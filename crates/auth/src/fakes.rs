//! Test doubles: an in-memory catalog of users and a tiny HTTP server on 127.0.0.1 standing in
//! for GitHub and JWKS endpoints.

use std::sync::{Arc, Mutex};

use portico_query::EntityFilter;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::AuthResult;
use crate::providers::UserResolver;

/// Users held in memory, filtered exactly as the catalog filters search rows.
#[derive(Default)]
pub struct FakeCatalog {
    pub users: Mutex<Vec<Value>>,
}

impl FakeCatalog {
    pub fn with_users(users: Vec<Value>) -> Self {
        Self {
            users: Mutex::new(users),
        }
    }
}

/// A User entity as the catalog serves it, with `memberOf` relations for `groups`.
pub fn user_entity(name: &str, groups: &[&str], annotations: Value, email: Option<&str>) -> Value {
    let relations: Vec<Value> = groups
        .iter()
        .map(|g| json!({ "type": "memberOf", "targetRef": format!("group:default/{g}") }))
        .collect();
    let mut profile = json!({});
    if let Some(email) = email {
        profile["email"] = json!(email);
    }
    json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "User",
        "metadata": { "name": name, "namespace": "default", "annotations": annotations },
        "spec": { "profile": profile, "memberOf": groups },
        "relations": relations,
    })
}

#[async_trait::async_trait]
impl UserResolver for FakeCatalog {
    async fn find_users(&self, filter: &EntityFilter) -> AuthResult<Vec<Value>> {
        let users = self.users.lock().unwrap().clone();
        Ok(users
            .into_iter()
            .filter(|u| {
                let rows = portico_query::build_search_rows(u).unwrap();
                portico_query::matches(filter, &rows)
            })
            .collect())
    }
}

/// One request the double received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Handler = dyn Fn(&Recorded) -> (u16, String) + Send + Sync;

/// A one-route-table HTTP/1.1 server answering JSON, closed when dropped.
pub struct HttpDouble {
    pub base_url: String,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl HttpDouble {
    pub async fn start(
        handler: impl Fn(&Recorded) -> (u16, String) + Send + Sync + 'static,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let seen = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let handler = handler.clone();
                let seen = seen.clone();
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut stream).await else {
                        return;
                    };
                    seen.lock().unwrap().push(request.clone());
                    let (status, body) = handler(&request);
                    let response = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Self {
            base_url,
            requests,
            task,
        }
    }

    pub fn count(&self, path: &str) -> usize {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path.split('?').next() == Some(path))
            .count()
    }
}

impl Drop for HttpDouble {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<Recorded> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let path = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buffer.len() < header_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buffer[header_end..]).to_string();
    Some(Recorded {
        method,
        path,
        headers,
        body,
    })
}
