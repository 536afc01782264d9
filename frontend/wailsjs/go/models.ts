export namespace chatstore {
	
	export class GenStats {
	    promptTokens: number;
	    cachedTokens: number;
	    prefillTokens: number;
	    completionTokens: number;
	    ttftMs: number;
	    prefillTps: number;
	    decodeTps: number;
	    finishReason: string;
	    droppedMessages: number;
	    contextUsed: number;
	    contextSize: number;
	
	    static createFrom(source: any = {}) {
	        return new GenStats(source);
	    }
	
	    constructor(source: any = {}) {
	        if ('string' === typeof source) source = JSON.parse(source);
	        this.promptTokens = source["promptTokens"];
	        this.cachedTokens = source["cachedTokens"];
	        this.prefillTokens = source["prefillTokens"];
	        this.completionTokens = source["completionTokens"];
	        this.ttftMs = source["ttftMs"];
	        this.prefillTps = source["prefillTps"];
	        this.decodeTps = source["decodeTps"];
	        this.finishReason = source["finishReason"];
	        this.droppedMessages = source["droppedMessages"];
	        this.contextUsed = source["contextUsed"];
	        this.contextSize = source["contextSize"];
	    }
	}
	export class Message {
	    id: string;
	    conversationId: string;
	    role: string;
	    content: string;
	    createdAt: string;
	    stats?: GenStats;
	    status: string;
	    modelId?: string;
	    model?: string;
	
	    static createFrom(source: any = {}) {
	        return new Message(source);
	    }
	
	    constructor(source: any = {}) {
	        if ('string' === typeof source) source = JSON.parse(source);
	        this.id = source["id"];
	        this.conversationId = source["conversationId"];
	        this.role = source["role"];
	        this.content = source["content"];
	        this.createdAt = source["createdAt"];
	        this.stats = this.convertValues(source["stats"], GenStats);
	        this.status = source["status"];
	        this.modelId = source["modelId"];
	        this.model = source["model"];
	    }
	
		convertValues(a: any, classs: any, asMap: boolean = false): any {
		    if (!a) {
		        return a;
		    }
		    if (a.slice && a.map) {
		        return (a as any[]).map(elem => this.convertValues(elem, classs));
		    } else if ("object" === typeof a) {
		        if (asMap) {
		            for (const key of Object.keys(a)) {
		                a[key] = new classs(a[key]);
		            }
		            return a;
		        }
		        return new classs(a);
		    }
		    return a;
		}
	}
	export class Conversation {
	    id: string;
	    title: string;
	    updatedAt: string;
	    preview: string;
	    messages: Message[];
	    modelId?: string;
	
	    static createFrom(source: any = {}) {
	        return new Conversation(source);
	    }
	
	    constructor(source: any = {}) {
	        if ('string' === typeof source) source = JSON.parse(source);
	        this.id = source["id"];
	        this.title = source["title"];
	        this.updatedAt = source["updatedAt"];
	        this.preview = source["preview"];
	        this.messages = this.convertValues(source["messages"], Message);
	        this.modelId = source["modelId"];
	    }
	
		convertValues(a: any, classs: any, asMap: boolean = false): any {
		    if (!a) {
		        return a;
		    }
		    if (a.slice && a.map) {
		        return (a as any[]).map(elem => this.convertValues(elem, classs));
		    } else if ("object" === typeof a) {
		        if (asMap) {
		            for (const key of Object.keys(a)) {
		                a[key] = new classs(a[key]);
		            }
		            return a;
		        }
		        return new classs(a);
		    }
		    return a;
		}
	}
	export class ConversationSummary {
	    id: string;
	    title: string;
	    updatedAt: string;
	    preview: string;
	
	    static createFrom(source: any = {}) {
	        return new ConversationSummary(source);
	    }
	
	    constructor(source: any = {}) {
	        if ('string' === typeof source) source = JSON.parse(source);
	        this.id = source["id"];
	        this.title = source["title"];
	        this.updatedAt = source["updatedAt"];
	        this.preview = source["preview"];
	    }
	}
	

}

export namespace engine {
	
	export class Error {
	    code: string;
	    params?: Record<string, any>;
	    message: string;
	
	    static createFrom(source: any = {}) {
	        return new Error(source);
	    }
	
	    constructor(source: any = {}) {
	        if ('string' === typeof source) source = JSON.parse(source);
	        this.code = source["code"];
	        this.params = source["params"];
	        this.message = source["message"];
	    }
	}

}

export namespace session {
	
	export class DownloadProgress {
	    modelId: string;
	    state: string;
	    bytesDone: number;
	    bytesTotal: number;
	    bytesPerSecond: number;
	    etaSeconds: number;
	    attempt: number;
	    error?: engine.Error;
	    retryAt?: string;
	
	    static createFrom(source: any = {}) {
	        return new DownloadProgress(source);
	    }
	
	    constructor(source: any = {}) {
	        if ('string' === typeof source) source = JSON.parse(source);
	        this.modelId = source["modelId"];
	        this.state = source["state"];
	        this.bytesDone = source["bytesDone"];
	        this.bytesTotal = source["bytesTotal"];
	        this.bytesPerSecond = source["bytesPerSecond"];
	        this.etaSeconds = source["etaSeconds"];
	        this.attempt = source["attempt"];
	        this.error = this.convertValues(source["error"], engine.Error);
	        this.retryAt = source["retryAt"];
	    }
	
		convertValues(a: any, classs: any, asMap: boolean = false): any {
		    if (!a) {
		        return a;
		    }
		    if (a.slice && a.map) {
		        return (a as any[]).map(elem => this.convertValues(elem, classs));
		    } else if ("object" === typeof a) {
		        if (asMap) {
		            for (const key of Object.keys(a)) {
		                a[key] = new classs(a[key]);
		            }
		            return a;
		        }
		        return new classs(a);
		    }
		    return a;
		}
	}
	export class ModelInfo {
	    id: string;
	    displayName: string;
	    family: string;
	    chat: boolean;
	    name: string;
	    path: string;
	    runPath: string;
	    architecture: string;
	    parameters: number;
	    contextSize: number;
	    threads: number;
	    weightType: string;
	    embeddingType: string;
	    kernel: string;
	    kvCache: string;
	    sizeBytes: number;
	
	    static createFrom(source: any = {}) {
	        return new ModelInfo(source);
	    }
	
	    constructor(source: any = {}) {
	        if ('string' === typeof source) source = JSON.parse(source);
	        this.id = source["id"];
	        this.displayName = source["displayName"];
	        this.family = source["family"];
	        this.chat = source["chat"];
	        this.name = source["name"];
	        this.path = source["path"];
	        this.runPath = source["runPath"];
	        this.architecture = source["architecture"];
	        this.parameters = source["parameters"];
	        this.contextSize = source["contextSize"];
	        this.threads = source["threads"];
	        this.weightType = source["weightType"];
	        this.embeddingType = source["embeddingType"];
	        this.kernel = source["kernel"];
	        this.kvCache = source["kvCache"];
	        this.sizeBytes = source["sizeBytes"];
	    }
	}
	export class AppState {
	    status: string;
	    error?: engine.Error;
	    model?: ModelInfo;
	    download?: DownloadProgress;
	    loadStage?: string;
	    loadFraction: number;
	    memoryBytes: number;
	    threads: number;
	    contextUsed: number;
	    contextSize: number;
	    lastStats?: chatstore.GenStats;
	    modelPresent: boolean;
	    version: string;
	    serverUrl?: string;
	    serverError?: engine.Error;
	    generatingConversationId?: string;
	    seq: number;
	
	    static createFrom(source: any = {}) {
	        return new AppState(source);
	    }
	
	    constructor(source: any = {}) {
	        if ('string' === typeof source) source = JSON.parse(source);
	        this.status = source["status"];
	        this.error = this.convertValues(source["error"], engine.Error);
	        this.model = this.convertValues(source["model"], ModelInfo);
	        this.download = this.convertValues(source["download"], DownloadProgress);
	        this.loadStage = source["loadStage"];
	        this.loadFraction = source["loadFraction"];
	        this.memoryBytes = source["memoryBytes"];
	        this.threads = source["threads"];
	        this.contextUsed = source["contextUsed"];
	        this.contextSize = source["contextSize"];
	        this.lastStats = this.convertValues(source["lastStats"], chatstore.GenStats);
	        this.modelPresent = source["modelPresent"];
	        this.version = source["version"];
	        this.serverUrl = source["serverUrl"];
	        this.serverError = this.convertValues(source["serverError"], engine.Error);
	        this.generatingConversationId = source["generatingConversationId"];
	        this.seq = source["seq"];
	    }
	
		convertValues(a: any, classs: any, asMap: boolean = false): any {
		    if (!a) {
		        return a;
		    }
		    if (a.slice && a.map) {
		        return (a as any[]).map(elem => this.convertValues(elem, classs));
		    } else if ("object" === typeof a) {
		        if (asMap) {
		            for (const key of Object.keys(a)) {
		                a[key] = new classs(a[key]);
		            }
		            return a;
		        }
		        return new classs(a);
		    }
		    return a;
		}
	}
	
	export class DraftCount {
	    tokens: number;
	    limit: number;
	    contextSize: number;
	
	    static createFrom(source: any = {}) {
	        return new DraftCount(source);
	    }
	
	    constructor(source: any = {}) {
	        if ('string' === typeof source) source = JSON.parse(source);
	        this.tokens = source["tokens"];
	        this.limit = source["limit"];
	        this.contextSize = source["contextSize"];
	    }
	}
	export class LibraryModel {
	    id: string;
	    name: string;
	    publisher?: string;
	    family?: string;
	    parameters: number;
	    contextSize: number;
	    chat: boolean;
	    license?: string;
	    page?: string;
	    sizeBytes: number;
	    sizeExact: boolean;
	    ramBytes: number;
	    installed: boolean;
	    path?: string;
	    external: boolean;
	    inCatalog: boolean;
	    downloadable: boolean;
	    verified: boolean;
	    active: boolean;
	    loaded: boolean;
	
	    static createFrom(source: any = {}) {
	        return new LibraryModel(source);
	    }
	
	    constructor(source: any = {}) {
	        if ('string' === typeof source) source = JSON.parse(source);
	        this.id = source["id"];
	        this.name = source["name"];
	        this.publisher = source["publisher"];
	        this.family = source["family"];
	        this.parameters = source["parameters"];
	        this.contextSize = source["contextSize"];
	        this.chat = source["chat"];
	        this.license = source["license"];
	        this.page = source["page"];
	        this.sizeBytes = source["sizeBytes"];
	        this.sizeExact = source["sizeExact"];
	        this.ramBytes = source["ramBytes"];
	        this.installed = source["installed"];
	        this.path = source["path"];
	        this.external = source["external"];
	        this.inCatalog = source["inCatalog"];
	        this.downloadable = source["downloadable"];
	        this.verified = source["verified"];
	        this.active = source["active"];
	        this.loaded = source["loaded"];
	    }
	}

}

export namespace settings {
	
	export class Settings {
	    systemPrompt: string;
	    temperature: number;
	    topP: number;
	    topK: number;
	    maxTokens: number;
	    threads: number;
	    theme: string;
	    language: string;
	    downloadUrl: string;
	    serverEnabled: boolean;
	    serverPort: number;
	    kvCache: string;
	    activeModel: string;
	
	    static createFrom(source: any = {}) {
	        return new Settings(source);
	    }
	
	    constructor(source: any = {}) {
	        if ('string' === typeof source) source = JSON.parse(source);
	        this.systemPrompt = source["systemPrompt"];
	        this.temperature = source["temperature"];
	        this.topP = source["topP"];
	        this.topK = source["topK"];
	        this.maxTokens = source["maxTokens"];
	        this.threads = source["threads"];
	        this.theme = source["theme"];
	        this.language = source["language"];
	        this.downloadUrl = source["downloadUrl"];
	        this.serverEnabled = source["serverEnabled"];
	        this.serverPort = source["serverPort"];
	        this.kvCache = source["kvCache"];
	        this.activeModel = source["activeModel"];
	    }
	}

}

