/// The API's OpenAPI 3 document, served at `/v1/openapi.json`. A test checks it against the
/// routes the engine serves, both ways.
public enum OpenAPIDocument {
    public static let json = #"""
{
  "openapi": "3.0.3",
  "info": {
    "title": "mmsh engine API",
    "version": "1",
    "description": "The control API of the mmsh engine: one process per data directory, serving HTTP/1.1 on the Unix socket mmsh.sock in that directory (mode 0600; only the same user may connect). Decimals are strings. Errors are a JSON body {\"error\": {\"code\", \"message\"}} with the same one-line message the shell prints."
  },
  "servers": [
    {
      "url": "http://localhost",
      "description": "curl --unix-socket ~/.local/share/mmsh/mmsh.sock http://localhost/v1/instances"
    }
  ],
  "paths": {
    "/v1/openapi.json": {
      "get": {
        "summary": "this document",
        "responses": {
          "200": {
            "description": "the OpenAPI document",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          }
        }
      }
    },
    "/v1/daemon": {
      "get": {
        "summary": "the engine: pid, data directory, uptime, attached sessions, running instances",
        "responses": {
          "200": {
            "description": "the engine",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Daemon"
                }
              }
            }
          }
        }
      }
    },
    "/v1/daemon/stop": {
      "post": {
        "summary": "stop every instance (orders cancelled and confirmed), then exit",
        "responses": {
          "202": {
            "description": "stopping",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          }
        }
      }
    },
    "/v1/daemon/token": {
      "post": {
        "summary": "make a new bearer token for the TCP listener (option api.listen); the old one stops working. Only over the Unix socket; the token is shown in this answer only",
        "responses": {
          "200": {
            "description": "the new token",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "required": [
                    "token"
                  ],
                  "properties": {
                    "token": {
                      "type": "string"
                    }
                  }
                }
              }
            }
          },
          "403": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    },
    "/v1/instances": {
      "get": {
        "summary": "every instance with its state, orders, fills, balances and P&L (as `status --json`)",
        "responses": {
          "200": {
            "description": "the instances",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          }
        }
      }
    },
    "/v1/instances/{id}": {
      "get": {
        "summary": "one instance (as `status ID --json`)",
        "responses": {
          "200": {
            "description": "the instance",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          }
        },
        "parameters": [
          {
            "$ref": "#/components/parameters/InstanceId"
          }
        ]
      }
    },
    "/v1/instances/{id}/start": {
      "post": {
        "summary": "start quoting",
        "responses": {
          "200": {
            "description": "started",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Message"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          },
          "409": {
            "$ref": "#/components/responses/Error"
          },
          "422": {
            "$ref": "#/components/responses/Error"
          }
        },
        "parameters": [
          {
            "$ref": "#/components/parameters/InstanceId"
          }
        ]
      }
    },
    "/v1/instances/{id}/stop": {
      "post": {
        "summary": "stop: cancel every order and confirm it",
        "responses": {
          "200": {
            "description": "stopped",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Message"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          },
          "409": {
            "$ref": "#/components/responses/Error"
          }
        },
        "parameters": [
          {
            "$ref": "#/components/parameters/InstanceId"
          }
        ]
      }
    },
    "/v1/instances/{id}/pause": {
      "post": {
        "summary": "halt by hand: cancel every order, place nothing until resume",
        "responses": {
          "200": {
            "description": "paused",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Message"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          },
          "409": {
            "$ref": "#/components/responses/Error"
          }
        },
        "parameters": [
          {
            "$ref": "#/components/parameters/InstanceId"
          }
        ]
      }
    },
    "/v1/instances/{id}/resume": {
      "post": {
        "summary": "lift a halt; refused (422) while today's loss is at risk.daily_loss",
        "responses": {
          "200": {
            "description": "resumed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Message"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          },
          "409": {
            "$ref": "#/components/responses/Error"
          },
          "422": {
            "$ref": "#/components/responses/Error"
          }
        },
        "parameters": [
          {
            "$ref": "#/components/parameters/InstanceId"
          }
        ]
      }
    },
    "/v1/halt": {
      "post": {
        "summary": "halt every running instance at once and confirm with the venue that none of their orders is open",
        "responses": {
          "200": {
            "description": "halted and confirmed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Message"
                }
              }
            }
          },
          "422": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    },
    "/v1/instances/{id}/orders": {
      "get": {
        "summary": "open orders (as `orders ID --json`)",
        "responses": {
          "200": {
            "description": "the orders",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          }
        },
        "parameters": [
          {
            "$ref": "#/components/parameters/InstanceId"
          }
        ]
      }
    },
    "/v1/instances/{id}/fills": {
      "get": {
        "summary": "fills, newest last (as `fills ID --json`)",
        "responses": {
          "200": {
            "description": "the fills",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          }
        },
        "parameters": [
          {
            "$ref": "#/components/parameters/InstanceId"
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "description": "the newest N (1 to 1000000; default 20)",
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 1000000
            }
          }
        ]
      }
    },
    "/v1/instances/{id}/book": {
      "get": {
        "summary": "the order book with the instance's own volume at each price (as `book ID --json`)",
        "responses": {
          "200": {
            "description": "the book",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          }
        },
        "parameters": [
          {
            "$ref": "#/components/parameters/InstanceId"
          },
          {
            "name": "depth",
            "in": "query",
            "required": false,
            "description": "levels a side (1 to 500; default 10)",
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 500
            }
          }
        ]
      }
    },
    "/v1/instances/{id}/trades": {
      "get": {
        "summary": "the market's newest public trades, the instance's own fills marked (as `trades ID --json`)",
        "responses": {
          "200": {
            "description": "the trades",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          }
        },
        "parameters": [
          {
            "$ref": "#/components/parameters/InstanceId"
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "description": "the newest N (1 to 500; default 20)",
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 500
            }
          }
        ]
      }
    },
    "/v1/instances/{id}/balance": {
      "get": {
        "summary": "balances per asset: total, available, in orders, value (as `balance ID --json`)",
        "responses": {
          "200": {
            "description": "the balances",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          }
        },
        "parameters": [
          {
            "$ref": "#/components/parameters/InstanceId"
          }
        ]
      }
    },
    "/v1/instances/{id}/pnl": {
      "get": {
        "summary": "the ledger: net P&L after fees, realized, unrealized, spread capture, inventory, fees, volume, risk figures (as `pnl ID --json`)",
        "responses": {
          "200": {
            "description": "the ledger's summary",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          }
        },
        "parameters": [
          {
            "$ref": "#/components/parameters/InstanceId"
          },
          {
            "name": "since",
            "in": "query",
            "required": false,
            "description": "the last DURATION only: 30m, 24h, 7d",
            "schema": {
              "type": "string"
            }
          }
        ]
      }
    },
    "/v1/instances/{id}/market": {
      "get": {
        "summary": "what the market did and how the instance took part: open, high, low, last, volume, our share, quote uptime, quote distance (as `market ID --json`)",
        "responses": {
          "200": {
            "description": "the market's summary",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          }
        },
        "parameters": [
          {
            "$ref": "#/components/parameters/InstanceId"
          },
          {
            "name": "since",
            "in": "query",
            "required": false,
            "description": "the last DURATION only: 30m, 24h, 7d",
            "schema": {
              "type": "string"
            }
          }
        ]
      }
    },
    "/v1/instances/{id}/events": {
      "get": {
        "summary": "the instance's log (as `log ID --json`)",
        "responses": {
          "200": {
            "description": "the log",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          }
        },
        "parameters": [
          {
            "$ref": "#/components/parameters/InstanceId"
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "description": "the newest N (1 to 1000000; default 20)",
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 1000000
            }
          }
        ]
      }
    },
    "/v1/instances/{id}/settings": {
      "get": {
        "summary": "the instance's settings (as `show ID --json`)",
        "responses": {
          "200": {
            "description": "the settings",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          }
        },
        "parameters": [
          {
            "$ref": "#/components/parameters/InstanceId"
          }
        ]
      }
    },
    "/v1/commands": {
      "post": {
        "summary": "run one shell command line, as `mmsh -c` would, with no current instance and nobody to ask",
        "responses": {
          "200": {
            "description": "its result",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/CommandResult"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          },
          "409": {
            "$ref": "#/components/responses/Error"
          },
          "413": {
            "$ref": "#/components/responses/Error"
          },
          "422": {
            "$ref": "#/components/responses/Error"
          }
        },
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/CommandRequest"
              }
            }
          }
        }
      }
    },
    "/v1/engine/{call}": {
      "post": {
        "summary": "one call of the typed engine API (EngineAPI), as a shell in another process makes it",
        "description": "The arguments are a JSON array in the order of the call's parameters, e.g. POST /v1/engine/updateSettings with [1, {\"spread.bid\": \"0.2%\", \"spread.ask\": null}, \"set spread.bid 0.2%\"]; no arguments is [] or an empty body. The answer is {\"result\": ...} (null for calls that answer nothing). backtest, sweep, followEvents and notifications answer application/x-ndjson: a line per report ({\"progress\": 0.25}, {\"done\": 3}, {\"event\": {...}}, {\"line\": \"...\"}; {} is a heartbeat), then the result or error line. A backtest or sweep started with ?ticket=T ends early (its result marked partial) on POST /v1/engine/cancel with [\"T\"], or when its client goes away. Secrets go in (unlockVault, storeKeys, changePassphrase), never out.",
        "parameters": [
          {
            "name": "call",
            "in": "path",
            "required": true,
            "description": "the call's name",
            "schema": {
              "type": "string",
              "enum": [
                "instances",
                "overview",
                "instance",
                "createInstance",
                "renameInstance",
                "deleteInstance",
                "storedSettings",
                "updateSettings",
                "options",
                "setOption",
                "runningIds",
                "isRunning",
                "runState",
                "report",
                "riskModes",
                "rules",
                "start",
                "stop",
                "stopAll",
                "pause",
                "resume",
                "confirmNoOrders",
                "venueMarket",
                "runs",
                "lastRun",
                "fills",
                "ledgerFills",
                "ledgerTally",
                "samples",
                "pnlRows",
                "pnlSnapshots",
                "lastMid",
                "events",
                "clearEvents",
                "logEvent",
                "followEvents",
                "notifications",
                "closeInterruptedRuns",
                "vaultStatus",
                "unlockVault",
                "lockVault",
                "keyAccounts",
                "hasKeys",
                "storeKeys",
                "deleteKeys",
                "changePassphrase",
                "testKeys",
                "sweep",
                "startRecording",
                "recordings",
                "stopRecording",
                "backtest",
                "cancel"
              ]
            }
          },
          {
            "name": "ticket",
            "in": "query",
            "required": false,
            "description": "a name for a backtest or sweep, to cancel it by",
            "schema": {
              "type": "string"
            }
          }
        ],
        "requestBody": {
          "required": false,
          "content": {
            "application/json": {
              "schema": {
                "type": "array",
                "items": {}
              },
              "example": [
                1
              ]
            }
          }
        },
        "responses": {
          "200": {
            "description": "the call's result",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "required": [
                    "result"
                  ],
                  "properties": {
                    "result": {}
                  }
                }
              },
              "application/x-ndjson": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/Error"
          },
          "404": {
            "$ref": "#/components/responses/Error"
          },
          "408": {
            "$ref": "#/components/responses/Error"
          },
          "409": {
            "$ref": "#/components/responses/Error"
          },
          "413": {
            "$ref": "#/components/responses/Error"
          },
          "422": {
            "$ref": "#/components/responses/Error"
          },
          "423": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    },
    "/metrics": {
      "get": {
        "summary": "Prometheus metrics, text exposition format 0.0.4",
        "responses": {
          "200": {
            "description": "the metrics",
            "content": {
              "text/plain": {
                "schema": {
                  "type": "string"
                }
              }
            }
          }
        }
      }
    }
  },
  "security": [
    {},
    {
      "bearer": []
    }
  ],
  "components": {
    "parameters": {
      "InstanceId": {
        "name": "id",
        "in": "path",
        "required": true,
        "description": "the instance's id",
        "schema": {
          "type": "integer",
          "minimum": 1
        }
      }
    },
    "responses": {
      "Error": {
        "description": "the request was refused; nothing changed",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      }
    },
    "securitySchemes": {
      "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "On the TCP listener (option api.listen) every request needs the token of 'mmsh daemon token'; 401 without it. On the Unix socket mmsh.sock (0600) none is sent: the engine checks that the peer runs as its own user (SO_PEERCRED)."
      }
    },
    "schemas": {
      "Error": {
        "type": "object",
        "required": [
          "error"
        ],
        "properties": {
          "error": {
            "type": "object",
            "required": [
              "code",
              "message"
            ],
            "properties": {
              "code": {
                "type": "string",
                "enum": [
                  "bad_request",
                  "not_found",
                  "conflict",
                  "failed",
                  "too_large",
                  "forbidden",
                  "interrupted",
                  "locked",
                  "stopping"
                ]
              },
              "message": {
                "type": "string",
                "example": "there is no instance 7; 'list' shows them"
              },
              "kind": {
                "type": "string",
                "description": "in answers of /v1/engine calls: the error's kind, as the shell knows it",
                "enum": [
                  "usage",
                  "notFound",
                  "conflict",
                  "failure",
                  "locked",
                  "interrupted",
                  "reported"
                ]
              }
            }
          }
        }
      },
      "Message": {
        "type": "object",
        "required": [
          "message"
        ],
        "properties": {
          "message": {
            "type": "string",
            "example": "started 1 'btc' on sim BTCUSDT"
          }
        }
      },
      "CommandRequest": {
        "type": "object",
        "additionalProperties": false,
        "required": [
          "line"
        ],
        "properties": {
          "line": {
            "type": "string",
            "example": "status --json"
          }
        }
      },
      "CommandResult": {
        "type": "object",
        "required": [
          "exit_code",
          "output",
          "errors"
        ],
        "properties": {
          "exit_code": {
            "type": "integer",
            "description": "0 ok, 1 a command failed, 64 usage error"
          },
          "output": {
            "type": "string"
          },
          "errors": {
            "type": "string"
          }
        }
      },
      "Daemon": {
        "type": "object",
        "properties": {
          "pid": {
            "type": "integer"
          },
          "data_directory": {
            "type": "string"
          },
          "started_at": {
            "type": "string",
            "format": "date-time"
          },
          "uptime_seconds": {
            "type": "integer"
          },
          "sessions": {
            "type": "integer"
          },
          "running": {
            "type": "array",
            "items": {
              "type": "integer"
            }
          },
          "idle_exit_seconds": {
            "type": "integer",
            "nullable": true
          },
          "api": {
            "type": "string"
          }
        }
      }
    }
  }
}
"""#
}
