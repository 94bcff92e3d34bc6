import { Float32Json } from "@bedrock-embed/core"
const nums = Array.from({ length: 1024 }, (_, i) => (Math.sin(i + 1) * 0.05).toPrecision(16))
const body = new TextEncoder().encode(`{"embedding":[${nums.join(",")}],"embeddingsByType":{"float":[${nums.join(",")}]},"inputTextTokenCount":9}`)
for (let r=0;r<3;r++){const c0=process.cpuUsage(); for(let i=0;i<5000;i++) Float32Json.parseFloat32Json(body,{keepText:false}); const c=process.cpuUsage(c0); console.log("parse µs", ((c.user+c.system)/5000).toFixed(1))}
